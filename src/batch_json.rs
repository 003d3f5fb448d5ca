//! Record batches as JSON, with the field names of `record_batch_v2` in Kafka's public test
//! vectors: the input form (`baseOffset`, `producerId`, …, `records` with `key_utf8`/`key_hex`)
//! that `brokerscope batch encode` reads, and the decoded form (`header`, `records`) that
//! `brokerscope batch decode` prints.

use crate::sim::record::batch::{self, BatchHeader, BatchSpec, Record, RecordHeader, TimestampType};
use crate::sim::record::{RecordBatch, StoredRecord};
use serde_json::{json, Map, Value};

/// A bad input document: the field path and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct InputError {
    /// Field path, e.g. `records[2].key_hex`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> InputError {
        InputError { path: path.into(), message: message.into() }
    }
}

pub(crate) fn bad(path: impl Into<String>, message: impl Into<String>) -> InputError {
    InputError::new(path, message)
}

fn int(v: &Map<String, Value>, key: &str, default: i64, min: i64, max: i64) -> Result<i64, InputError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(x) => x
            .as_i64()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| bad(key, format!("expected an integer in [{min}, {max}]"))),
    }
}

/// Decodes `key_utf8` / `key_hex` (or `value_…`); absent or null means a null field.
fn bytes_field(v: &Map<String, Value>, name: &str, path: &str) -> Result<Option<Vec<u8>>, InputError> {
    let utf8 = v.get(&format!("{name}_utf8")).filter(|x| !x.is_null());
    let hex = v.get(&format!("{name}_hex")).filter(|x| !x.is_null());
    match (utf8, hex) {
        (Some(_), Some(_)) => {
            Err(bad(format!("{path}.{name}_hex"), format!("give {name}_utf8 or {name}_hex, not both")))
        }
        (Some(s), None) => Ok(Some(
            s.as_str().ok_or_else(|| bad(format!("{path}.{name}_utf8"), "expected a string"))?.as_bytes().to_vec(),
        )),
        (None, Some(h)) => {
            let text = h.as_str().ok_or_else(|| bad(format!("{path}.{name}_hex"), "expected a hex string"))?;
            parse_hex(text).map(Some).map_err(|m| bad(format!("{path}.{name}_hex"), m))
        }
        (None, None) => Ok(None),
    }
}

/// Parses hex (whitespace ignored).
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    digits
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            let s = std::str::from_utf8(pair).map_err(|_| format!("non-hex character at byte {}", i * 2))?;
            u8::from_str_radix(s, 16).map_err(|_| format!("non-hex digits {s:?} at byte {}", i * 2))
        })
        .collect()
}

/// Lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_record(v: &Value, path: &str) -> Result<Record, InputError> {
    let obj = v.as_object().ok_or_else(|| bad(path, "expected an object"))?;
    let timestamp_ms = obj
        .get("timestamp")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad(format!("{path}.timestamp"), "required integer"))?;
    let mut headers = Vec::new();
    for (i, h) in obj.get("headers").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default().iter().enumerate()
    {
        let hpath = format!("{path}.headers[{i}]");
        let hobj = h.as_object().ok_or_else(|| bad(&hpath, "expected an object"))?;
        let key = match (hobj.get("key"), bytes_field(hobj, "key", &hpath)?) {
            (Some(Value::String(s)), _) => s.as_bytes().to_vec(),
            (_, Some(k)) => k,
            _ => return Err(bad(format!("{hpath}.key"), "required (a header key is never null)")),
        };
        let value = match hobj.get("value") {
            Some(Value::String(s)) => Some(s.as_bytes().to_vec()),
            _ => bytes_field(hobj, "value", &hpath)?,
        };
        headers.push(RecordHeader { key, value });
    }
    Ok(Record { timestamp_ms, key: bytes_field(obj, "key", path)?, value: bytes_field(obj, "value", path)?, headers })
}

/// Builds a batch from the vectors' input form.
pub fn encode_input(input: &Value) -> Result<Vec<u8>, InputError> {
    let obj = input.as_object().ok_or_else(|| bad("(root)", "expected an object"))?;
    let timestamp_type = match obj.get("timestampType").and_then(Value::as_str).unwrap_or("CreateTime") {
        "CreateTime" => TimestampType::CreateTime,
        "LogAppendTime" => TimestampType::LogAppendTime,
        other => return Err(bad("timestampType", format!("{other:?}: expected CreateTime or LogAppendTime"))),
    };
    let spec = BatchSpec {
        base_offset: int(obj, "baseOffset", 0, 0, i64::MAX)?,
        partition_leader_epoch: int(obj, "partitionLeaderEpoch", -1, -1, i32::MAX.into())? as i32,
        producer_id: int(obj, "producerId", -1, -1, i64::MAX)?,
        producer_epoch: int(obj, "producerEpoch", -1, -1, i16::MAX.into())? as i16,
        base_sequence: int(obj, "baseSequence", -1, -1, i32::MAX.into())? as i32,
        is_transactional: obj.get("isTransactional").and_then(Value::as_bool).unwrap_or(false),
        is_control: obj.get("isControlBatch").and_then(Value::as_bool).unwrap_or(false),
        timestamp_type,
        log_append_time: int(obj, "logAppendTime", -1, -1, i64::MAX)?,
    };
    let records = obj.get("records").and_then(Value::as_array).ok_or_else(|| bad("records", "required array"))?;
    if records.is_empty() {
        return Err(bad("records", "a batch needs at least one record"));
    }
    let records: Vec<Record> =
        records.iter().enumerate().map(|(i, r)| parse_record(r, &format!("records[{i}]"))).collect::<Result<_, _>>()?;
    // Kafka's `MemoryRecordsBuilder` refuses an offset that does not follow the one before
    // (`baseOffset + n` wraps negative past 2^63 - 1).
    if spec.base_offset.checked_add(records.len() as i64 - 1).is_none() {
        return Err(bad(
            "baseOffset",
            format!("{} records from {} pass the largest offset (2^63 - 1)", records.len(), spec.base_offset),
        ));
    }
    Ok(batch::build(&spec, &records))
}

/// The vectors' `header` object for a decoded batch.
pub fn header_json(h: &BatchHeader) -> Value {
    json!({
        "baseOffset": h.base_offset, "batchLength": h.batch_length, "partitionLeaderEpoch": h.partition_leader_epoch,
        "magic": h.magic, "crc": h.crc, "attributes": h.attributes, "lastOffsetDelta": h.last_offset_delta,
        "baseTimestamp": h.base_timestamp, "maxTimestamp": h.max_timestamp, "producerId": h.producer_id,
        "producerEpoch": h.producer_epoch, "baseSequence": h.base_sequence, "lastSequence": h.last_sequence(),
        "recordsCount": h.records_count, "isTransactional": h.is_transactional(), "isControlBatch": h.is_control(),
        "timestampType": h.timestamp_type().name(), "compression": h.compression().map_or("invalid", |c| c.name()),
        "isValid": true, "lastOffset": h.last_offset(), "nextOffset": h.next_offset()
    })
}

fn record_json(h: &BatchHeader, r: &StoredRecord) -> Value {
    let headers: Vec<Value> = r
        .headers
        .iter()
        .map(|x| json!({"key_hex": to_hex(&x.key), "value_hex": x.value.as_deref().map(to_hex)}))
        .collect();
    json!({
        "offset": h.offset_at(r.offset_delta),
        "timestamp": h.timestamp_at(r.timestamp_delta),
        "sequence": h.sequence_at(r.offset_delta),
        "key_hex": r.key.as_deref().map(to_hex),
        "value_hex": r.value.as_deref().map(to_hex),
        "headers": headers,
        "size_in_bytes": batch::record_size_in_bytes(r),
    })
}

/// The decoded form: `{header, records, size_in_bytes}` as in the vectors.
pub fn decode_json(batch: &RecordBatch) -> Value {
    let h = batch.header();
    let records: Vec<Value> = batch.stored_records().iter().map(|r| record_json(h, r)).collect();
    json!({"header": header_json(h), "records": records, "size_in_bytes": batch.size_bytes()})
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(parse_hex("00ff 10").unwrap(), [0, 255, 16]);
        assert_eq!(to_hex(&[0, 255, 16]), "00ff10");
        assert!(parse_hex("abc").unwrap_err().contains("odd"));
        assert!(parse_hex("zz").unwrap_err().contains("non-hex"));
    }

    #[test]
    fn offsets_past_the_largest_long_are_refused_as_kafka_refuses_them() {
        // `MemoryRecordsBuilder.appendWithOffset`: the offset after 2^63 - 1 wraps negative and
        // does not follow the one before.
        assert!(encode_input(&json!({"baseOffset": i64::MAX, "records": [{"timestamp": 1}]})).is_ok());
        let two = json!({"baseOffset": i64::MAX, "records": [{"timestamp": 1}, {"timestamp": 2}]});
        assert_eq!(
            encode_input(&two).unwrap_err().to_string(),
            "baseOffset: 2 records from 9223372036854775807 pass the largest offset (2^63 - 1)"
        );
    }

    #[test]
    fn decoding_wraps_offsets_and_sequences_as_kafka_does() {
        // The largest offset holds one record; the offset after it wraps, as `nextOffset` does
        // in Java. Sequences wrap past i32::MAX to 0 (`DefaultRecordBatch.incrementSequence`).
        let input = json!({"baseOffset": i64::MAX, "producerId": 7, "producerEpoch": 0,
            "baseSequence": i32::MAX, "records": [{"timestamp": 1}]});
        let batch = RecordBatch::from_bytes(encode_input(&input).unwrap()).unwrap();
        let v = decode_json(&batch);
        assert_eq!(
            (v["header"]["lastOffset"].as_i64(), v["header"]["nextOffset"].as_i64()),
            (Some(i64::MAX), Some(i64::MIN))
        );
        assert_eq!(v["records"][0]["offset"].as_i64(), Some(i64::MAX));
        let two = json!({"producerId": 7, "producerEpoch": 0, "baseSequence": i32::MAX,
            "records": [{"timestamp": 1}, {"timestamp": i64::MIN}]});
        let batch = RecordBatch::from_bytes(encode_input(&two).unwrap()).unwrap().stamped(i64::MAX, 0);
        let v = decode_json(&batch);
        let field =
            |k: &str| v["records"].as_array().unwrap().iter().map(|r| r[k].as_i64().unwrap()).collect::<Vec<_>>();
        assert_eq!(field("offset"), [i64::MAX, i64::MIN]);
        assert_eq!(field("sequence"), [i64::from(i32::MAX), 0]);
        assert_eq!(field("timestamp"), [1, i64::MIN]);
        assert_eq!(v["header"]["lastSequence"].as_i64(), Some(0));
    }

    #[test]
    fn input_errors_name_the_field() {
        let e = encode_input(&json!({"records": [{"timestamp": 1, "key_hex": "xyz1"}]})).unwrap_err();
        assert_eq!(e.to_string(), "records[0].key_hex: non-hex digits \"xy\" at byte 0");
        let e = encode_input(&json!({"records": []})).unwrap_err();
        assert_eq!(e.to_string(), "records: a batch needs at least one record");
        let e = encode_input(&json!({"producerEpoch": 70000, "records": [{"timestamp": 1}]})).unwrap_err();
        assert!(e.to_string().starts_with("producerEpoch: expected an integer"));
    }
}
