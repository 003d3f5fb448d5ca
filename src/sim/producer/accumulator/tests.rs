#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;

fn tp(p: u32) -> Tp {
    Tp { topic: "t".into(), partition: p }
}

fn record(key_len: i64, value_len: usize, ts: i64) -> Record {
    Record {
        timestamp_ms: ts,
        key: (key_len >= 0).then(|| vec![b'k'; key_len as usize]),
        value: Some(vec![b'v'; value_len]),
        headers: vec![],
    }
}

/// Appends like `RecordAccumulator.append` with a pool that never runs short.
fn append(acc: &mut RecordAccumulator, tp: &Tp, r: Record, now: SimTime) -> AppendResult {
    if let Some(result) = acc.try_append(tp, &r, 0, now) {
        return result;
    }
    let capacity = acc.buffer_size_for(&r);
    assert!(acc.pool.try_allocate(capacity));
    acc.append_new_batch(tp, &r, 0, capacity, now)
}

#[test]
fn kafka_accumulator_batching_vectors() {
    // kafka-vectors-public.json accumulator_batching (RecordAccumulator.append, linger 0).
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../../../tests/vectors/kafka-vectors-public.json")).unwrap();
    for case in v["accumulator_batching"]["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut acc = RecordAccumulator::new(case["batch_size"].as_u64().unwrap() as u32, 0, 32 << 20);
        let ts0 = case["first_timestamp"].as_i64().unwrap();
        let step = case["timestamp_step_ms"].as_i64().unwrap();
        let (key_len, value_len) = (case["key_len"].as_i64().unwrap(), case["value_len"].as_u64().unwrap() as usize);
        let mut results = vec![];
        for i in 0..case["appends"].as_u64().unwrap() as i64 {
            let r = append(&mut acc, &tp(0), record(key_len, value_len, ts0 + i * step), SimTime::ZERO);
            // What the result says of its batch is what the deque holds.
            let deque = &acc.deques()[&tp(0)];
            let last = deque.back().unwrap();
            assert_eq!(
                (r.batch_id, r.batch_records, r.batch_bytes, r.behind_head, r.last_full),
                (
                    last.batch_id,
                    last.record_count(),
                    last.estimated_size(),
                    deque.len() > 1,
                    acc.all_batches_full(&tp(0))
                ),
                "{name} #{i}"
            );
            results.push(r);
        }
        let batches: Vec<&ProducerBatch> = acc.deques()[&tp(0)].iter().collect();
        let expected = case["batches"].as_array().unwrap();
        assert_eq!(batches.len(), expected.len(), "{name}: batch count");
        for (b, e) in batches.iter().zip(expected) {
            assert_eq!(u64::from(b.record_count()), e["record_count"].as_u64().unwrap(), "{name}");
            assert_eq!(u64::from(b.estimated_size()), e["estimated_size_before_close"].as_u64().unwrap(), "{name}");
            assert_eq!(u64::from(b.capacity), e["buffer_capacity"].as_u64().unwrap(), "{name}");
            assert_eq!(b.is_full(), e["is_full"].as_bool().unwrap(), "{name}");
            let mut built = (*b).clone();
            assert_eq!(
                u64::from(built.close_and_encode().size_bytes()),
                e["built_size_in_bytes"].as_u64().unwrap(),
                "{name}"
            );
        }
        for sel in case["append_results_selected"].as_array().unwrap() {
            let r = results[sel["i"].as_u64().unwrap() as usize];
            assert_eq!(r.new_batch_created, sel["new_batch_created"].as_bool().unwrap(), "{name} #{}", sel["i"]);
            assert_eq!(r.batch_is_full, sel["batch_is_full"].as_bool().unwrap(), "{name} #{}", sel["i"]);
            assert_eq!(u64::from(r.appended_bytes), sel["appended_bytes"].as_u64().unwrap(), "{name} #{}", sel["i"]);
        }
    }
}

#[test]
fn batch_size_zero_batches_what_the_first_records_buffer_holds() {
    let counts = |value_len: usize| {
        let mut acc = RecordAccumulator::new(0, 0, 1 << 20);
        for _ in 0..4 {
            append(&mut acc, &tp(0), record(-1, value_len, 0), SimTime::ZERO);
        }
        acc.deques()[&tp(0)].iter().map(ProducerBatch::record_count).collect::<Vec<_>>()
    };
    // 10-byte values: buffer = upper bound 61 + 21 + 1 + 11 + 1 = 95; records of 17 B: 78, 95, then 112 > 95.
    assert_eq!(counts(10), [2, 2]);
    // 1-byte values: buffer 86; records of 8 B: 69, 77, 85, then 93 > 86.
    assert_eq!(counts(1), [3, 1]);
}

#[test]
fn ready_honours_linger_full_and_backoff() {
    let mut acc = RecordAccumulator::new(16384, 100, 1 << 20);
    let leader = |_: &Tp| Some(1u16);
    append(&mut acc, &tp(0), record(3, 10, 0), SimTime::ZERO);
    let r = acc.ready(&leader, SimTime::from_ms(40));
    assert!(r.ready_nodes.is_empty());
    assert_eq!(r.next_ready_check_ms, Some(60), "linger.ms minus waited");
    assert_eq!(acc.ready(&leader, SimTime::from_ms(100)).ready_nodes, [1].into());
    let none = |_: &Tp| None;
    assert_eq!(acc.ready(&none, SimTime::from_ms(100)).unknown_leader_topics, ["t".to_string()].into());
    let mut b = acc.drain_node(1, &[tp(0)], 1 << 20, SimTime::from_ms(100), &|_| false, &mut |_| {}).pop().unwrap();
    b.reenqueued(SimTime::from_ms(200), 300);
    acc.reenqueue(b);
    let r = acc.ready(&leader, SimTime::from_ms(300));
    assert!(r.ready_nodes.is_empty(), "backing off");
    assert_eq!(r.next_ready_check_ms, Some(200));
    assert_eq!(acc.ready(&leader, SimTime::from_ms(500)).ready_nodes, [1].into());
}

#[test]
fn drain_rotates_and_respects_max_request_size() {
    let mut acc = RecordAccumulator::new(1000, 0, 1 << 20);
    let parts = [tp(0), tp(1), tp(2)];
    for p in &parts {
        append(&mut acc, p, record(1, 600, 0), SimTime::ZERO);
        append(&mut acc, p, record(1, 600, 0), SimTime::ZERO);
    }
    let t = SimTime::ZERO;
    let first: Vec<u32> =
        acc.drain_node(1, &parts, 1500, t, &|_| false, &mut |_| {}).iter().map(|b| b.tp.partition).collect();
    assert_eq!(first, [0, 1], "two ~680-byte batches fit in 1500, the third stops the node");
    let second: Vec<u32> =
        acc.drain_node(1, &parts, 1500, t, &|_| false, &mut |_| {}).iter().map(|b| b.tp.partition).collect();
    assert_eq!(second, [2, 0], "restarts at the partition that did not fit; p1's next batch no longer fits");
    acc.mute(&tp(2));
    let third: Vec<u32> =
        acc.drain_node(1, &parts, 100, t, &|_| false, &mut |_| {}).iter().map(|b| b.tp.partition).collect();
    assert_eq!(third, [1], "one oversized batch still goes alone; muted p2 is skipped");
    assert_eq!(acc.deques()[&tp(2)].len(), 1);
}
