//! Codec tests: the Kafka checksum vector, round trips of random batches, and a seeded fuzz over
//! random and mutated bytes (bounded; `BROKERSCOPE_FUZZ_ITERATIONS` widens it).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::batch::*;
use super::*;
use crate::sim::rng::{Ratio, SimRng};

/// MemoryRecordsTest#testChecksum (magic 2, no compression): 97 bytes, CRC 3851219455.
const CHECKSUM_HEX: &str = "000000000000000000000055ffffffff02e58cf1ff00000000000100000000000454c300000000000454c3ffffffffffffffffffffffffffff0000000220000000086b6579310c76616c756531002400e1bf2202086b6579320c76616c75653200";

fn hex(s: &str) -> Vec<u8> {
    crate::batch_json::parse_hex(s).unwrap()
}

fn rec(ts: i64, k: &str, v: &str) -> Record {
    Record { timestamp_ms: ts, key: Some(k.into()), value: Some(v.into()), headers: vec![] }
}

#[test]
fn kafka_checksum_batch_is_byte_exact() {
    let built = batch::build(&BatchSpec::default(), &[rec(283843, "key1", "value1"), rec(1234, "key2", "value2")]);
    assert_eq!(built, hex(CHECKSUM_HEX));
    let b = RecordBatch::from_bytes(built).unwrap();
    assert_eq!(b.header().crc, 3851219455);
    assert_eq!((b.header().base_timestamp, b.header().max_timestamp), (283843, 283843));
    assert_eq!(b.records()[1], (1, rec(1234, "key2", "value2")));
}

#[test]
fn a_sealed_header_is_read_without_its_crc_and_every_other_check() {
    let built = batch::build(&BatchSpec::default(), &[rec(283843, "key1", "value1"), rec(1234, "key2", "value2")]);
    assert_eq!(decode_sealed_header(&built), decode_header(&built, 0));
    // A record byte changed after sealing: only the full read computes the CRC again.
    let mut changed = built.clone();
    *changed.last_mut().unwrap() ^= 1;
    assert_eq!(decode_header(&changed, 0).unwrap_err().field, "crc");
    assert_eq!(decode_sealed_header(&changed), decode_header(&built, 0));
    // Lengths, magic and codec are still checked, in the same order.
    let mut bad_magic = built.clone();
    bad_magic[16] = 1;
    assert_eq!(decode_sealed_header(&bad_magic).unwrap_err().field, "magic");
    assert_eq!(decode_sealed_header(&built[..40]).unwrap_err().field, "header");
    assert_eq!(decode_sealed_header(&built[..built.len() - 1]).unwrap_err().field, "batchLength");
    let mut gzip = built.clone();
    gzip[22] |= 1;
    assert_eq!(decode_sealed_header(&gzip).unwrap_err().field, "attributes.compression");
    assert_eq!(decode_header(&gzip, 0).unwrap_err().field, "crc");
}

#[test]
fn check_crcs_computes_the_crc_again_for_a_batch_made_from_bytes() {
    let records = [rec(1, "key1", "value1"), rec(2, "key2", "value2")];
    let sealed = RecordBatch::build(&BatchSpec::default(), &records);
    assert!(sealed.kept_fingerprints().is_some());
    assert_eq!(sealed.verified_fingerprints(), Ok(sealed.fingerprints()));
    let from_bytes = RecordBatch::from_bytes(sealed.clone().into_bytes()).unwrap();
    assert_eq!(from_bytes.verified_fingerprints(), Ok(sealed.fingerprints()));
    // Bytes changed behind a made batch's back (nothing in the simulator does this): only the
    // check finds it.
    let mut changed = from_bytes.clone().into_bytes();
    let last_value_byte = changed.len() - 2; // the record's header count follows it
    changed[last_value_byte] ^= 1;
    let changed = RecordBatch { bytes: Arc::new(changed), ..from_bytes };
    assert_eq!(changed.verified_fingerprints().unwrap_err().field, "crc");
    assert!(changed.fingerprints().len() == 2);
}

#[test]
fn deltas_and_offsets_wrap_as_javas_long_arithmetic_does() {
    // Timestamps 2^63 apart: Kafka writes `timestamp - baseTimestamp` as Java computes it,
    // wrapped (MIN - MAX = 1), and reading adds it back. (Found by encoding extreme inputs: the
    // subtraction overflowed.)
    let built = batch::build(&BatchSpec::default(), &[rec(i64::MAX, "a", "1"), rec(i64::MIN, "b", "2")]);
    let (_, stored) = batch::decode(&built, 0).unwrap();
    assert_eq!(stored.iter().map(|r| r.timestamp_delta).collect::<Vec<_>>(), [0, 1]);
    let b = RecordBatch::from_bytes(built).unwrap();
    assert_eq!(b.records().iter().map(|(_, r)| r.timestamp_ms).collect::<Vec<_>>(), [i64::MAX, i64::MIN]);
    // A base offset is outside the CRC and may be anything: the last offset wraps as
    // `DefaultRecordBatch.lastOffset` does, and so do the records' offsets.
    let top = b.stamped(i64::MAX, 0);
    assert_eq!((top.last_offset(), top.header().next_offset()), (i64::MIN, i64::MIN + 1));
    assert_eq!(top.records().iter().map(|(o, _)| *o).collect::<Vec<_>>(), [i64::MAX, i64::MIN]);
    let mut fingerprinted = Vec::new();
    top.for_each_fingerprint(true, |offset, _| fingerprinted.push(offset)).unwrap();
    assert_eq!(fingerprinted, [i64::MAX, i64::MIN]);
}

#[test]
fn stamping_keeps_the_crc_valid() {
    let b = RecordBatch::from_bytes(hex(CHECKSUM_HEX)).unwrap().stamped(1_000_000, 7);
    let again = RecordBatch::from_bytes(b.bytes().to_vec()).unwrap();
    assert_eq!((again.base_offset(), again.header().partition_leader_epoch), (1_000_000, 7));
    assert_eq!(again.header().crc, 3851219455);
    assert_eq!(again.last_offset(), 1_000_001);
}

#[test]
fn stamped_copies_share_the_bytes_and_read_as_their_own_stamp() {
    let original = RecordBatch::from_bytes(hex(CHECKSUM_HEX)).unwrap();
    let (a, b) = (original.stamped(1_000_000, 7), original.stamped(1_000_000, 7));
    let (moved, new_epoch) = (original.stamped(5, 7), original.stamped(1_000_000, 8));
    // Each copy reads as if its bytes had been rewritten: bytes, equality, owned bytes.
    let mut expected = hex(CHECKSUM_HEX);
    batch::stamp(&mut expected, 1_000_000, 7);
    assert_eq!(*a.bytes(), expected[..]);
    assert_eq!(a.clone().into_bytes(), expected);
    assert_eq!(*original.bytes(), hex(CHECKSUM_HEX)[..], "the original keeps its own stamp");
    assert!(matches!(original.bytes(), std::borrow::Cow::Borrowed(_)), "no copy for the bytes' own stamp");
    assert!(a.shares_bytes(&b) && a == b);
    for other in [&moved, &new_epoch, &original] {
        assert!(!a.shares_bytes(other) && a != *other, "same bytes, another stamp: {other:?}");
    }
    // Made apart from equal bytes: equal, sharing nothing.
    let apart = RecordBatch::from_bytes(expected).unwrap();
    assert!(apart == a && !apart.shares_bytes(&a));
    // Records and fingerprints read at the copy's offsets, and its CRC checks.
    assert_eq!(moved.records().iter().map(|(o, _)| *o).collect::<Vec<_>>(), [5, 6]);
    assert_eq!(moved.verified_fingerprints().unwrap().iter().map(|(o, _)| *o).collect::<Vec<_>>(), [5, 6]);
    assert_eq!(RecordBatch::from_bytes(moved.bytes().into_owned()).unwrap(), moved);
    // The last holder of the bytes gets them without a copy, stamped.
    drop((original, a, b, new_epoch));
    let mut owned = hex(CHECKSUM_HEX);
    batch::stamp(&mut owned, 5, 7);
    assert_eq!(moved.into_bytes(), owned);
    // A batch that keeps its fingerprints reads them at its stamped offsets, CRC checked.
    let records = [rec(1, "k", "v"), rec(2, "k2", "v2")];
    let built = RecordBatch::build(&BatchSpec::default(), &records);
    let at_40 = built.stamped(40, 3);
    let expected: Vec<(i64, u64)> = records.iter().enumerate().map(|(i, r)| (40 + i as i64, r.fingerprint())).collect();
    assert_eq!(at_40.verified_fingerprints().unwrap(), expected);
    assert_eq!(built.verified_fingerprints().unwrap().iter().map(|(o, _)| *o).collect::<Vec<_>>(), [0, 1]);
}

#[test]
fn a_reopened_builder_is_finished_again_with_new_producer_state() {
    // The producer encodes records as they are appended, writes the header at drain, and after
    // an epoch bump writes it again with new producer state: the result must be exactly the
    // batch built from the same records with that state (Kafka's checksum vector, then a
    // sequenced one).
    let records = [rec(283843, "key1", "value1"), rec(1234, "key2", "value2")];
    let mut builder = RecordsBuilder::new();
    for r in &records {
        assert_eq!(size_of_body(builder.next_record_body_len(r)), builder.clone().append(r));
        builder.append(r);
    }
    assert_eq!(builder.records(), records);
    let first = RecordBatch::finish(&mut builder, &BatchSpec::default());
    assert_eq!(first.bytes(), hex(CHECKSUM_HEX).as_slice());
    let sequenced = BatchSpec { producer_id: 7, producer_epoch: 1, base_sequence: 40, ..BatchSpec::default() };
    let (bytes, fingerprints) = first.into_parts();
    builder.reopen(bytes, fingerprints.expect("a finished builder's batch keeps its fingerprints"));
    let again = RecordBatch::finish(&mut builder, &sequenced);
    assert_eq!(again.bytes(), batch::build(&sequenced, &records).as_slice());
    let want: Vec<(i64, u64)> = records.iter().zip(0..).map(|(r, o)| (o, r.fingerprint())).collect();
    assert_eq!(again.fingerprints(), want, "the reopened builder kept its records' fingerprints");
    assert_eq!(builder.fingerprints().count(), 0, "the batch took them");
    let kept: Vec<u64> = again.kept_fingerprints().expect("an encoded batch keeps them").collect();
    assert_eq!(kept, records.iter().map(Record::fingerprint).collect::<Vec<_>>());
    assert!(RecordBatch::from_bytes(again.bytes().to_vec()).unwrap().kept_fingerprints().is_none());
    assert_eq!((again.header().producer_id, again.header().base_sequence, again.record_count()), (7, 40, 2));
    assert!(RecordBatch::from_bytes(again.bytes().to_vec()).is_ok(), "the CRC was computed again");
}

fn random_bytes(rng: &mut SimRng, len_max: u64) -> Vec<u8> {
    (0..rng.below(len_max + 1)).map(|_| rng.next_u32() as u8).collect()
}

fn random_record(rng: &mut SimRng, ts0: i64) -> Record {
    let maybe = |rng: &mut SimRng, n| rng.chance(Ratio::new(4, 5).unwrap()).then(|| random_bytes(rng, n));
    let headers = (0..rng.below(3)).map(|_| RecordHeader { key: random_bytes(rng, 8), value: maybe(rng, 8) }).collect();
    let ts = ts0 + rng.range_inclusive(0, 2_000_000) as i64 - 1_000_000;
    Record { timestamp_ms: ts.max(0), key: maybe(rng, 40), value: maybe(rng, 300), headers }
}

fn random_spec(rng: &mut SimRng) -> BatchSpec {
    let idempotent = rng.chance(Ratio::new(1, 2).unwrap());
    BatchSpec {
        base_offset: rng.below(1 << 50) as i64,
        partition_leader_epoch: rng.below(100) as i32 - 1,
        producer_id: if idempotent { rng.below(1 << 40) as i64 } else { -1 },
        producer_epoch: if idempotent { rng.below(5) as i16 } else { -1 },
        base_sequence: if idempotent { rng.below(i32::MAX as u64) as i32 } else { -1 },
        is_transactional: idempotent && rng.chance(Ratio::new(1, 3).unwrap()),
        is_control: false,
        timestamp_type: if rng.chance(Ratio::new(1, 4).unwrap()) {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        },
        log_append_time: 1_700_000_000_000,
    }
}

fn iterations(default: u64) -> u64 {
    option_env!("BROKERSCOPE_FUZZ_ITERATIONS").and_then(|s| s.parse().ok()).unwrap_or(default)
}

#[test]
fn random_batches_round_trip() {
    let mut rng = SimRng::new(0xba7c);
    for _ in 0..iterations(400) {
        let spec = random_spec(&mut rng);
        let records: Vec<Record> =
            (0..rng.range_inclusive(1, 12)).map(|_| random_record(&mut rng, 1_700_000_000_000)).collect();
        let b = RecordBatch::from_bytes(batch::build(&spec, &records)).expect("a built batch decodes");
        let h = b.header();
        assert_eq!(
            (h.base_offset, h.producer_id, h.base_sequence, h.is_transactional()),
            (spec.base_offset, spec.producer_id, spec.base_sequence, spec.is_transactional)
        );
        assert_eq!(h.timestamp_type(), spec.timestamp_type);
        let decoded: Vec<Record> = b.records().into_iter().map(|(_, r)| r).collect();
        assert_eq!(decoded, records);
        let mut builder = RecordsBuilder::new();
        records.iter().for_each(|r| _ = builder.append(r));
        assert_eq!(builder.records(), records, "a split decodes the builder's records back");
        // Fingerprints decoded in place (with and without the CRC check) are the records' own.
        let want: Vec<(i64, u64)> = b.records().iter().map(|(o, r)| (*o, r.fingerprint())).collect();
        assert_eq!(b.fingerprints(), want);
        assert_eq!(b.verified_fingerprints(), Ok(want.clone()));
        // A batch this process encoded carries the fingerprints computed as records were
        // appended: the same list, also in a stamped copy (new offsets) and equal to `b`.
        let encoded = RecordBatch::build(&spec, &records);
        assert_eq!(encoded, b);
        let of_records: Vec<(i64, u64)> =
            records.iter().enumerate().map(|(i, r)| (spec.base_offset + i as i64, r.fingerprint())).collect();
        assert_eq!((encoded.fingerprints(), encoded.verified_fingerprints()), (want.clone(), Ok(want)));
        assert_eq!(encoded.fingerprints(), of_records);
        let moved = encoded.stamped(spec.base_offset + 1_000, 3);
        let shifted: Vec<(i64, u64)> = of_records.iter().map(|(o, f)| (o + 1_000, *f)).collect();
        assert_eq!(moved.fingerprints(), shifted);
        assert_eq!(RecordBatch::from_bytes(moved.bytes().to_vec()).unwrap().fingerprints(), shifted);
        let offsets: Vec<i64> = b.records().iter().map(|(o, _)| *o).collect();
        assert_eq!(offsets, (0..records.len() as i64).map(|i| spec.base_offset + i).collect::<Vec<_>>());
        let stored = b.stored_records();
        assert_eq!(
            b.size_bytes() as usize,
            RECORD_BATCH_OVERHEAD + stored.iter().map(record_size_in_bytes).sum::<usize>()
        );
    }
}

#[test]
fn mutated_batches_are_rejected_exactly_where_kafka_would() {
    let mut rng = SimRng::new(0xf022);
    for _ in 0..iterations(3000) {
        let records: Vec<Record> = (0..rng.range_inclusive(1, 4)).map(|_| random_record(&mut rng, 1_000)).collect();
        let good = batch::build(&random_spec(&mut rng), &records);
        let mut bad = good.clone();
        let at = rng.below(good.len() as u64) as usize;
        bad[at] ^= rng.range_inclusive(1, 255) as u8;
        let result = RecordBatch::from_bytes(bad);
        match at {
            0..=7 | 12..=15 => {
                assert!(result.is_ok(), "baseOffset/partitionLeaderEpoch are outside the CRC (byte {at})")
            }
            16 => assert_eq!(result.unwrap_err().field, "magic"),
            _ => assert!(result.is_err(), "a change at byte {at} must be detected"),
        }
        let cut = rng.below(good.len() as u64) as usize;
        assert!(RecordBatch::from_bytes(good[..cut].to_vec()).is_err(), "truncated to {cut} bytes");
        let mut longer = good.clone();
        longer.push(0);
        assert!(RecordBatch::from_bytes(longer).is_err(), "a trailing byte is an error");
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = SimRng::new(0x5eed);
    for _ in 0..iterations(5000) {
        let mut bytes = random_bytes(&mut rng, 200);
        if bytes.len() >= 23 && rng.chance(Ratio::new(1, 2).unwrap()) {
            // Make the frame plausible so the record decoder is exercised past the header.
            let len = (bytes.len() - 12) as i32;
            bytes[8..12].copy_from_slice(&len.to_be_bytes());
            bytes[16] = 2;
            bytes[21] &= 0;
            bytes[22] &= 0x38;
            if bytes.len() >= 61 {
                let crc = crate::sim::record::crc::crc32c(&bytes[21..]);
                bytes[17..21].copy_from_slice(&crc.to_be_bytes());
            }
        }
        let _ = RecordBatch::from_bytes(bytes.clone());
        let _ = RecordBatch::parse_stream(&bytes);
    }
}

#[test]
fn errors_name_position_and_field() {
    let mut b = hex(CHECKSUM_HEX);
    b[70] ^= 0x01;
    assert_eq!(
        RecordBatch::from_bytes(b).unwrap_err().to_string(),
        "byte 17 (crc): stored 0xe58cf1ff, computed 0xbbb2635f"
    );
    let mut b = hex(CHECKSUM_HEX);
    b[16] = 1;
    assert_eq!(RecordBatch::from_bytes(b).unwrap_err().to_string(), "byte 16 (magic): 1 (only magic 2 is supported)");
    let e = RecordBatch::from_bytes(hex(CHECKSUM_HEX)[..50].to_vec()).unwrap_err();
    assert_eq!(e.to_string(), "byte 50 (header): truncated: 50 of 61 header bytes");
}

#[test]
fn compressed_batches_are_a_clear_error() {
    let mut b = hex(CHECKSUM_HEX);
    b[22] |= 0x01; // gzip
    let crc = crate::sim::record::crc::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(
        RecordBatch::from_bytes(b).unwrap_err().to_string(),
        "byte 21 (attributes.compression): unsupported codec: gzip"
    );
}

#[test]
fn a_stream_splits_into_batches_and_stops_at_corruption() {
    let one = hex(CHECKSUM_HEX);
    let two = RecordBatch::from_bytes(one.clone()).unwrap().stamped(2, 0);
    let mut stream = one.clone();
    stream.extend_from_slice(&two.bytes());
    stream.extend_from_slice(&one[..40]);
    let (batches, error) = RecordBatch::parse_stream(&stream);
    assert_eq!(batches.iter().map(RecordBatch::base_offset).collect::<Vec<_>>(), [0, 2]);
    assert_eq!(error.unwrap().position, 194 + 40);
}

#[test]
fn size_estimates_match_kafka_vectors() {
    // record_size_estimates: estimateSizeInBytesUpperBound and DefaultRecord.sizeInBytes(0, 0, …).
    assert_eq!(record_size_upper_bound(None, Some(&[]), &[]), 85);
    assert_eq!(record_size_upper_bound(None, Some(&[0]), &[]), 86);
    assert_eq!(record_size_upper_bound(Some(&[]), Some(&[]), &[]), 85);
    assert_eq!(record_size(0, 0, None, Some(&[]), &[]), 7);
    assert_eq!(record_size(0, 0, None, Some(&[0]), &[]), 8);
    assert_eq!(record_size(0, 0, Some(&[]), Some(&[]), &[]), 7);
}

#[test]
fn the_fast_record_decoder_agrees_with_the_checked_one() {
    let mut rng = SimRng::new(0xfa57);
    let (mut fast_taken, mut mutated_accepted) = (0u64, 0u64);
    let runs = iterations(300);
    for _ in 0..runs {
        let mut records: Vec<Record> =
            (0..rng.range_inclusive(1, 12)).map(|_| random_record(&mut rng, 1_700_000_000_000)).collect();
        if rng.chance(Ratio::new(1, 2).unwrap()) {
            records.iter_mut().for_each(|r| r.headers.clear());
        }
        let bytes = batch::build(&random_spec(&mut rng), &records);
        let mut at = RECORD_BATCH_OVERHEAD;
        for r in &records {
            let (fast, checked) = decode_record_both(&bytes[at..]);
            let (record, used) = checked.expect("a built record decodes");
            if r.headers.is_empty() {
                assert_eq!(fast, Some((record.clone(), used)), "a record without headers takes the fast path");
                fast_taken += 1;
            } else {
                assert_eq!(fast, None, "headers go to the checked path");
            }
            // Corrupt a byte of this record (the batch's later bytes follow it, as they do in a
            // batch) or cut it short: whatever the fast path accepts, the checked path accepts
            // identically.
            for _ in 0..4 {
                let mut bad = bytes[at..].to_vec();
                if rng.chance(Ratio::new(1, 4).unwrap()) {
                    bad.truncate(rng.below(used as u64) as usize);
                } else {
                    let i = rng.below(used as u64) as usize;
                    bad[i] = rng.next_u32() as u8;
                }
                let (fast, checked) = decode_record_both(&bad);
                if let Some(accepted) = fast {
                    assert_eq!(checked.ok(), Some(accepted), "the fast path accepted what the checked one did not");
                    mutated_accepted += 1;
                }
            }
            at += used;
        }
    }
    // About four records a run take the fast path, and one corruption in six or so still decodes.
    assert!(
        fast_taken >= runs && mutated_accepted >= runs / 10,
        "both cases exercised ({fast_taken}, {mutated_accepted})"
    );
}

#[test]
#[should_panic(expected = "one fingerprint per record")]
fn reopening_with_the_wrong_fingerprints_panics() {
    let records = [rec(1, "k", "v"), rec(2, "k", "w")];
    let mut builder = RecordsBuilder::of(&records);
    let (bytes, _) = builder.finish_with_fingerprints(&BatchSpec::default());
    let one = RecordsBuilder::of(&records[..1]).finish_with_fingerprints(&BatchSpec::default()).1;
    builder.reopen(bytes, one);
}
