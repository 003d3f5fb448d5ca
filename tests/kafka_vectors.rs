//! Every public Kafka vector of the kinds implemented so far (tests/vectors is a copy of
//! shared/reference/kafka-vectors-public.json, computed by Kafka's own classes).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use brokerscope::batch_json::{decode_json, encode_input, parse_hex, to_hex};
use brokerscope::sim::log::segment::file_stem;
use brokerscope::sim::partitioner::{murmur2, partition_for_key, to_positive};
use brokerscope::sim::record::varint::*;
use brokerscope::sim::record::{record_size, record_size_upper_bound, RecordBatch};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/kafka-vectors-public.json")).unwrap()
}

fn cases(kind: &str) -> Vec<Value> {
    vectors()[kind]["cases"].as_array().unwrap_or_else(|| panic!("no {kind}")).clone()
}

#[test]
fn murmur2_and_partitions() {
    let all = cases("murmur2");
    assert!(all.len() >= 6);
    for c in all {
        let key = parse_hex(c["key_hex"].as_str().unwrap()).unwrap();
        assert_eq!(i64::from(murmur2(&key)), c["murmur2_int32"].as_i64().unwrap(), "{}", c["key_utf8"]);
        assert_eq!(i64::from(to_positive(murmur2(&key))), c["to_positive"].as_i64().unwrap());
        for (n, p) in c["partition_for_n"].as_object().unwrap() {
            assert_eq!(
                u64::from(partition_for_key(&key, n.parse().unwrap())),
                p.as_u64().unwrap(),
                "{} % {n}",
                c["key_utf8"]
            );
        }
    }
}

#[test]
fn crc32c() {
    for c in cases("crc32c") {
        let bytes = parse_hex(c["hex"].as_str().unwrap()).unwrap();
        assert_eq!(u64::from(brokerscope::sim::record::crc::crc32c(&bytes)), c["crc"].as_u64().unwrap());
    }
}

#[test]
fn varints() {
    let v = vectors()["varint"].clone();
    let hexed = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut out = vec![];
        f(&mut out);
        to_hex(&out)
    };
    for c in v["varint"].as_array().unwrap() {
        let (n, h) = (c["value"].as_i64().unwrap() as i32, c["hex"].as_str().unwrap());
        assert_eq!(hexed(&|o| put_varint(o, n)), h);
        assert_eq!(get_varint(&parse_hex(h).unwrap()).unwrap().0, n);
    }
    for c in v["varlong"].as_array().unwrap() {
        let (n, h) = (c["value"].as_i64().unwrap(), c["hex"].as_str().unwrap());
        assert_eq!(hexed(&|o| put_varlong(o, n)), h);
        assert_eq!(get_varlong(&parse_hex(h).unwrap()).unwrap().0, n);
    }
    for c in v["unsigned_varint"].as_array().unwrap() {
        let (n, h) = (c["value"].as_i64().unwrap() as i32, c["hex"].as_str().unwrap());
        assert_eq!(hexed(&|o| put_unsigned_varint(o, n)), h);
        assert_eq!(get_unsigned_varint(&parse_hex(h).unwrap()).unwrap().0, n);
    }
}

#[test]
fn record_batch_v2_encodes_and_decodes_byte_exact() {
    let all = cases("record_batch_v2");
    assert!(!all.is_empty());
    for c in all {
        let name = c["name"].as_str().unwrap();
        let bytes = encode_input(&c["input"]).unwrap();
        assert_eq!(to_hex(&bytes), c["hex"].as_str().unwrap(), "{name}: encoding");
        let batch = RecordBatch::from_bytes(parse_hex(c["hex"].as_str().unwrap()).unwrap()).unwrap();
        let decoded = decode_json(&batch);
        assert_eq!(decoded["header"], c["header"], "{name}: header");
        assert_eq!(decoded["records"], c["records"], "{name}: records");
        assert_eq!(decoded["size_in_bytes"], c["size_in_bytes"], "{name}: size");
    }
}

#[test]
fn record_size_estimates() {
    let v = vectors()["record_size_estimates"].clone();
    assert_eq!(v["RECORD_BATCH_OVERHEAD"], 61);
    for c in v["cases"].as_array().unwrap() {
        let len = |k: &str| c[k].as_i64().unwrap();
        let bytes = |n: i64| (n >= 0).then(|| vec![b'x'; n as usize]);
        let (key, value) = (bytes(len("key_len")), bytes(len("value_len")));
        assert_eq!(c["headers"], 0);
        assert_eq!(
            record_size_upper_bound(key.as_deref(), value.as_deref(), &[]) as i64,
            len("estimateSizeInBytesUpperBound")
        );
        assert_eq!(
            record_size(0, 0, key.as_deref(), value.as_deref(), &[]) as i64,
            len("record_sizeInBytes_offsetDelta0_tsDelta0")
        );
    }
}

#[test]
fn segment_file_names() {
    for c in cases("segment_file_names") {
        let stem = file_stem(c["offset"].as_i64().unwrap());
        assert_eq!(format!("{stem}.log"), c["log"].as_str().unwrap());
        assert_eq!(format!("{stem}.index"), c["index"].as_str().unwrap());
        assert_eq!(format!("{stem}.timeindex"), c["timeindex"].as_str().unwrap());
    }
}

#[test]
fn hw_scenarios() {
    use brokerscope::sim::replication::{leader_high_watermark, HighWatermarkInput, RemoteReplica};
    let all = cases("hw_scenarios");
    assert!(!all.is_empty());
    for c in all {
        let int = |k: &str, default: i64| c.get(k).and_then(Value::as_i64).unwrap_or(default);
        let followers: Vec<RemoteReplica> = c["followers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| RemoteReplica {
                log_end_offset: f["leo"].as_i64().unwrap(),
                in_maximal_isr: f["in_maximal_isr"].as_bool().unwrap(),
                last_caught_up_ms: f["last_caught_up_ms"].as_i64().unwrap(),
                eligible: f.get("eligible").and_then(Value::as_bool).unwrap_or(true),
            })
            .collect();
        let input = HighWatermarkInput {
            leader_log_end_offset: int("leader_leo", 0),
            high_watermark: int("old_hw", 0),
            committed_isr_size: int("committed_isr_size", 1) as usize,
            min_insync_replicas: int("min_insync_replicas", 1) as usize,
            replication_factor: int("replication_factor", 1) as usize,
            now_ms: int("now_ms", 0),
            replica_lag_time_max_ms: int("replica_lag_time_max_ms", 30_000),
            followers,
        };
        assert_eq!(leader_high_watermark(input), int("expected_hw", -1), "{}", c["name"]);
    }
}

#[test]
fn leader_epoch_end_offsets() {
    use brokerscope::sim::replication::LeaderEpochCache;
    let all = cases("leader_epoch_end_offset");
    assert!(!all.is_empty());
    for c in all {
        let mut cache = LeaderEpochCache::new();
        for pair in c["assign_sequence_epoch_startOffset"].as_array().unwrap() {
            cache.assign(pair[0].as_i64().unwrap() as i32, pair[1].as_i64().unwrap());
        }
        let entries: Vec<(i64, i64)> = cache.entries().into_iter().map(|(e, o)| (i64::from(e), o)).collect();
        let expected: Vec<(i64, i64)> = c["resulting_entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_i64().unwrap(), p[1].as_i64().unwrap()))
            .collect();
        assert_eq!(entries, expected);
        assert_eq!(cache.latest_epoch().map(i64::from), c["latest_epoch"].as_i64());
        for q in c["end_offset_for"].as_array().unwrap() {
            let (epoch, offset) = cache
                .end_offset_for(q["requested_epoch"].as_i64().unwrap() as i32, q["log_end_offset"].as_i64().unwrap());
            assert_eq!(
                (i64::from(epoch), offset),
                (q["result_epoch"].as_i64().unwrap(), q["result_end_offset"].as_i64().unwrap()),
                "requested {}",
                q["requested_epoch"]
            );
        }
    }
}

#[test]
fn consumer_offsets_partition() {
    use brokerscope::sim::group::{coordinator_partition, java_string_hash, utils_abs};
    let all = cases("consumer_offsets_partition");
    assert!(all.len() >= 3);
    for c in all {
        let group = c["group_id"].as_str().unwrap();
        assert_eq!(i64::from(java_string_hash(group)), c["java_string_hashcode"].as_i64().unwrap(), "{group:?}");
        assert_eq!(i64::from(utils_abs(java_string_hash(group))), c["utils_abs"].as_i64().unwrap(), "{group:?}");
        for (n, p) in c["partition_for_n"].as_object().unwrap() {
            assert_eq!(
                u64::from(coordinator_partition(group, n.parse().unwrap())),
                p.as_u64().unwrap(),
                "{group:?} % {n}"
            );
        }
    }
}

fn assignor_vectors(kind: &str, assignor: brokerscope::sim::group::assignor::Assignor, ordered: bool) {
    use brokerscope::assign_json::{parse_input, to_json};
    use brokerscope::sim::group::assignor::assign;
    let all = cases(kind);
    assert!(all.len() >= 3, "{kind}");
    for c in all {
        let input = parse_input(&serde_json::json!({
            "partitions_per_topic": c["partitions_per_topic"], "members": c["members"]
        }))
        .unwrap();
        let got = to_json(&assign(assignor, &input.partitions_per_topic, &input.members));
        let want = c["assignment"].as_object().unwrap();
        assert_eq!(got.as_object().unwrap().len(), want.len(), "{}: members", c["name"]);
        for (member, list) in want {
            let mut w: Vec<&str> = list.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
            let mut g: Vec<&str> = got[member].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
            if !ordered {
                // Range's and the sticky assignors' list order follows Java HashMaps: compare as sets.
                w.sort_unstable();
                g.sort_unstable();
            }
            assert_eq!(g, w, "{}: {member}", c["name"]);
        }
    }
}

#[test]
fn range_assignor() {
    assignor_vectors("range_assignor", brokerscope::sim::group::assignor::Assignor::Range, false);
}

#[test]
fn roundrobin_assignor() {
    assignor_vectors("roundrobin_assignor", brokerscope::sim::group::assignor::Assignor::RoundRobin, true);
}

#[test]
fn sticky_assignor() {
    assignor_vectors("sticky_assignor", brokerscope::sim::group::assignor::Assignor::Sticky, false);
}

#[test]
fn cooperative_sticky_assignor() {
    assignor_vectors(
        "cooperative_sticky_assignor",
        brokerscope::sim::group::assignor::Assignor::CooperativeSticky,
        false,
    );
}
