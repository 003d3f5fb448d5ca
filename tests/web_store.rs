//! The IndexedDB segment store in headless Chromium.
#![cfg(target_arch = "wasm32")]

use brokerscope::sim::log::store::{check_contract, SegmentKey, SegmentStore};
use brokerscope::sim::log::{LogConfig, PartitionLog};
use brokerscope::sim::record::{BatchSpec, Record, RecordBatch};
use brokerscope::sim::time::SimTime;
use brokerscope::web_store::{corrupt_chunk, IdbSegmentStore};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn db_name(test: &str) -> String {
    format!("brokerscope-test-{test}-{}", js_sys::Date::now())
}

fn key(base_offset: i64) -> SegmentKey {
    SegmentKey { broker: 2, topic: "orders".into(), partition: 1, base_offset }
}

/// A journaled log with several segments, applied to the store.
fn write_log(store: &mut IdbSegmentStore) -> PartitionLog {
    let mut log = PartitionLog::new(LogConfig { segment_bytes: 1200, ..LogConfig::default() }, SimTime::ZERO);
    log.enable_journal();
    for i in 0..20u8 {
        let r =
            Record { timestamp_ms: i64::from(i), key: Some(vec![b'k', i]), value: Some(vec![i; 150]), headers: vec![] };
        log.append_as_leader(&RecordBatch::build(&BatchSpec::default(), &[r]), 0, SimTime::from_ms(u64::from(i)));
    }
    for op in log.drain_journal() {
        store.apply(2, "orders", 1, &op).unwrap();
    }
    log
}

#[wasm_bindgen_test]
async fn the_store_meets_the_segment_store_contract() {
    let (mut store, recoveries) = IdbSegmentStore::open(&db_name("contract")).await.unwrap();
    assert!(recoveries.is_empty());
    check_contract(&mut store);
    assert!(store.flush().await.unwrap() > 0);
}

#[wasm_bindgen_test]
async fn segments_survive_a_reopen_byte_for_byte() {
    let name = db_name("reopen");
    let (mut store, _) = IdbSegmentStore::open(&name).await.unwrap();
    let log = write_log(&mut store);
    assert!(log.segments().len() > 2, "several segments");
    store.flush().await.unwrap();
    store.close();
    let (store, recoveries) = IdbSegmentStore::open(&name).await.unwrap();
    assert_eq!(recoveries, []);
    let keys = store.segments(2, "orders", 1);
    assert_eq!(
        keys.iter().map(|k| k.base_offset).collect::<Vec<_>>(),
        log.segments().iter().map(|s| s.base_offset()).collect::<Vec<_>>()
    );
    for (k, s) in keys.iter().zip(log.segments()) {
        assert_eq!(store.read(k, 0..store.len(k).unwrap()).unwrap(), s.log_bytes());
    }
}

#[wasm_bindgen_test]
async fn a_corrupt_tail_is_truncated_reported_and_repaired() {
    let name = db_name("corrupt");
    let (mut store, _) = IdbSegmentStore::open(&name).await.unwrap();
    let log = write_log(&mut store);
    // Twenty appends in one flush: one write per segment (its creation and appends coalesced).
    assert_eq!(store.flush().await.unwrap(), log.segments().len());
    store.close();
    let first = &log.segments()[0];
    let batches = first.batches();
    let last = batches.last().unwrap();
    let position = first.size_bytes() - last.size_bytes();
    let mut bad = last.bytes().to_vec();
    bad[40] ^= 0xff; // inside the CRC'd region
    corrupt_chunk(&name, &key(0), u64::from(position), &bad).await.unwrap();

    let (store, recoveries) = IdbSegmentStore::open(&name).await.unwrap();
    assert_eq!(recoveries.len(), 1);
    let r = &recoveries[0];
    assert_eq!(r.key, key(0));
    assert_eq!((r.kept_bytes, r.dropped_bytes), (u64::from(position), u64::from(last.size_bytes())));
    assert!(r.error.contains("(crc)"), "{}", r.error);
    assert_eq!(store.len(&key(0)).unwrap(), u64::from(position));
    assert_eq!(store.read(&key(0), 0..u64::from(position)).unwrap(), first.log_bytes()[..position as usize]);
    store.close();

    let (store, recoveries) = IdbSegmentStore::open(&name).await.unwrap();
    assert_eq!(recoveries, [], "the repair was written back");
    assert_eq!(store.len(&key(0)).unwrap(), u64::from(position));
}

#[wasm_bindgen_test]
async fn offsets_beyond_2_pow_53_keep_their_exact_key() {
    let name = db_name("bigoffset");
    let big = (1i64 << 60) + 3;
    let (mut store, _) = IdbSegmentStore::open(&name).await.unwrap();
    let batch = RecordBatch::build(
        &BatchSpec { base_offset: big, ..BatchSpec::default() },
        &[Record { timestamp_ms: 1, key: None, value: Some(vec![1]), headers: vec![] }],
    );
    store.create(&key(big)).unwrap();
    store.append(&key(big), 0, &batch.bytes()).unwrap();
    store.create(&key(big + 1)).unwrap();
    store.flush().await.unwrap();
    store.close();
    let (store, _) = IdbSegmentStore::open(&name).await.unwrap();
    assert_eq!(store.keys(), [key(big), key(big + 1)], "keys sort and round-trip exactly; empty segments persist");
    assert_eq!(store.len(&key(big + 1)).unwrap(), 0);
    let bytes = store.read(&key(big), 0..store.len(&key(big)).unwrap()).unwrap();
    assert_eq!(RecordBatch::from_bytes(bytes).unwrap().base_offset(), big);
}

/// A database this store cannot open (a newer schema version, as another build might leave)
/// is an error naming IndexedDB's reason, never a panic or a hang.
#[wasm_bindgen_test]
async fn a_database_it_cannot_open_is_an_error_naming_the_reason() {
    use wasm_bindgen::JsCast;
    let name = db_name("newer-version");
    let factory = web_sys::window().unwrap().indexed_db().unwrap().unwrap();
    let request = factory.open_with_u32(&name, 99).unwrap();
    let opened = js_sys::Promise::new(&mut |resolve, _| request.set_onsuccess(Some(&resolve)));
    wasm_bindgen_futures::JsFuture::from(opened).await.unwrap();
    request.result().unwrap().unchecked_into::<web_sys::IdbDatabase>().close();
    let error = IdbSegmentStore::open(&name).await.err().expect("version 1 below the stored 99 cannot open");
    let text = error.to_string();
    assert!(text.contains("VersionError"), "{text}");
}
