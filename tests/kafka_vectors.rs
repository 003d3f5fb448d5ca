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
        assert_eq!(u64::from(crc32c::crc32c(&bytes)), c["crc"].as_u64().unwrap());
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
