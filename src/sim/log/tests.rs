#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::store::{MemSegmentStore, SegmentStore};
use super::*;
use crate::sim::record::{BatchSpec, Record};

fn batch(records: &[(Option<&str>, Option<&str>)], ts: i64, value_len: usize) -> RecordBatch {
    let rs: Vec<Record> = records
        .iter()
        .map(|(k, v)| Record {
            timestamp_ms: ts,
            key: k.map(|k| k.as_bytes().to_vec()),
            value: v.map(|v| {
                let mut b = v.as_bytes().to_vec();
                b.resize(value_len.max(b.len()), b'.');
                b
            }),
            headers: vec![],
        })
        .collect();
    RecordBatch::build(&BatchSpec::default(), &rs)
}

fn small() -> LogConfig {
    LogConfig { segment_bytes: 1000, index_interval_bytes: 300, ..LogConfig::default() }
}

fn at(ms: u64) -> SimTime {
    SimTime::from_ms(ms)
}

fn fill(log: &mut PartitionLog, n: usize, ts: i64) -> Vec<LogEvent> {
    let mut events = vec![];
    for i in 0..n {
        let key = format!("k{}", i % 4);
        let (_, ev) = log.append_as_leader(&batch(&[(Some(&key), Some("v"))], ts, 200), 0, at(ts as u64));
        events.extend(ev);
    }
    events
}

#[test]
fn leader_appends_roll_on_segment_bytes_with_kafka_names() {
    let mut log = PartitionLog::new(small(), at(0));
    let events = fill(&mut log, 12, 1);
    let rolls: Vec<i64> = events
        .iter()
        .filter_map(|e| if let LogEvent::Rolled { base_offset, .. } = e { Some(*base_offset) } else { None })
        .collect();
    let per_segment = log.segments()[0].batches().len() as i64;
    assert!(per_segment >= 3, "a 1000-byte segment holds several ~270-byte batches");
    assert_eq!(rolls[0], per_segment);
    assert!(log.segments().iter().all(|s| s.size_bytes() <= 1000));
    assert_eq!(log.log_end_offset(), 12);
    assert_eq!(segment::file_stem(log.segments()[1].base_offset()), format!("{:020}", per_segment));
    let entries = events.iter().filter(|e| matches!(e, LogEvent::IndexEntry { .. })).count();
    assert!(entries > 0, "index entries every index.interval.bytes");
}

#[test]
fn segment_ms_rolls_on_record_timestamps() {
    let mut log = PartitionLog::new(LogConfig { segment_ms: 1000, ..LogConfig::default() }, at(0));
    log.append_as_leader(&batch(&[(None, Some("a"))], 5_000, 1), 0, at(5));
    log.append_as_leader(&batch(&[(None, Some("b"))], 6_000, 1), 0, at(6));
    assert_eq!(log.segments().len(), 1, "exactly segment.ms later does not roll");
    let (_, ev) = log.append_as_leader(&batch(&[(None, Some("c"))], 6_001, 1), 0, at(7));
    assert_eq!(ev.iter().next(), Some(&LogEvent::Rolled { base_offset: 2, reason: segment::RollReason::SegmentMs }));
}

#[test]
fn reads_start_at_the_batch_holding_the_offset_and_stay_below_the_limit() {
    let mut log = PartitionLog::new(small(), at(0));
    let three = batch(&[(Some("a"), Some("1")), (Some("b"), Some("2")), (Some("c"), Some("3"))], 1, 10);
    log.append_as_leader(&three, 0, at(1));
    fill(&mut log, 10, 2);
    let got = log.read(1, 13, u32::MAX);
    assert_eq!(got[0].base_offset(), 0, "offset 1 lives in the batch 0..2");
    assert!(got.iter().all(|b| b.last_offset() < 13));
    let later = log.read(9, 13, u32::MAX);
    assert_eq!(later[0].base_offset(), 9);
    assert!(log.read(13, 13, u32::MAX).is_empty());
    assert_eq!(log.read(3, 13, 1).len(), 1, "one batch at least, whatever bytes_max says");
}

#[test]
fn truncation_spans_segments_and_clamps_the_hw() {
    let mut log = PartitionLog::new(small(), at(0));
    fill(&mut log, 12, 1);
    log.set_high_watermark(11);
    let ev = log.truncate_to(2, at(2)).unwrap();
    assert_eq!(ev, LogEvent::Truncated { to: 2, log_end_offset: 2, bytes: ev_bytes(&ev) });
    assert_eq!(log.log_end_offset(), 2);
    assert_eq!(log.high_watermark(), 2);
    assert_eq!(log.segments().len(), 1);
    assert_eq!(log.truncate_to(5, at(3)), None, "nothing at or after the LEO");
    let (b, _) = log.append_as_leader(&batch(&[(Some("z"), Some("z"))], 3, 5), 1, at(3));
    assert_eq!(b.base_offset(), 2);
}

fn ev_bytes(e: &LogEvent) -> u64 {
    if let LogEvent::Truncated { bytes, .. } = e {
        *bytes
    } else {
        0
    }
}

#[test]
fn time_retention_never_passes_the_hw_and_rolls_when_all_would_go() {
    let cfg = LogConfig { retention_ms: 1_000, ..small() };
    let mut log = PartitionLog::new(cfg, at(0));
    fill(&mut log, 12, 100);
    let segments = log.segments().len();
    assert!(log.delete_old_segments(at(5_000)).is_empty(), "HW 0: nothing is deletable");
    log.set_high_watermark(12);
    let events = log.delete_old_segments(at(5_000));
    assert!(
        matches!(events[0], LogEvent::Rolled { reason: segment::RollReason::Retention, .. }),
        "every segment expired: roll first"
    );
    assert_eq!(events.len(), segments + 1);
    assert_eq!((log.log_start_offset(), log.log_end_offset(), log.high_watermark()), (12, 12, 12));
    assert!(log.delete_old_segments(at(9_000)).is_empty(), "an empty active segment is never deleted");
}

#[test]
fn size_retention_deletes_oldest_while_over_the_limit() {
    let mut log = PartitionLog::new(LogConfig { retention_bytes: 1_500, ..small() }, at(0));
    fill(&mut log, 12, 1);
    log.set_high_watermark(12);
    let before = log.size_bytes();
    let events = log.delete_old_segments(at(1));
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| matches!(e, LogEvent::SegmentDeleted { reason: RetentionReason::Size, .. })));
    // Kafka stops at the first segment whose removal would take the log under retention.bytes.
    let over = log.size_bytes() as i64 - 1_500;
    assert!(
        over < i64::from(log.segments()[0].size_bytes()),
        "{over} bytes over, first segment {}",
        log.segments()[0].size_bytes()
    );
    assert!(log.size_bytes() < before);
    assert_eq!(log.log_start_offset(), log.segments()[0].base_offset());
}

#[test]
fn compaction_keeps_the_latest_record_per_key_below_the_active_segment() {
    let cfg = LogConfig { cleanup_policy: CleanupPolicy { delete: false, compact: true }, ..small() };
    let mut log = PartitionLog::new(cfg, at(0));
    fill(&mut log, 16, 1); // keys k0..k3, four times each
    log.set_high_watermark(16);
    let Some(LogEvent::Compacted(stats)) = log.clean(at(10)) else { panic!("dirty ratio 1.0 must clean") };
    assert!(stats.records_after < stats.records_before);
    let active_base = log.segments().last().unwrap().base_offset();
    let mut seen = std::collections::BTreeMap::new();
    for b in log.batches() {
        for (o, r) in b.records() {
            if o < active_base {
                assert!(seen.insert(r.key.clone(), o).is_none(), "one record per key below the active segment");
            }
        }
    }
    assert!(log.clean(at(11)).is_none(), "clean log: dirty ratio 0");
    assert!(log.batches().all(
        |b| b.header().crc == crate::sim::record::RecordBatch::from_bytes(b.bytes().to_vec()).unwrap().header().crc
    ));
}

#[test]
fn tombstones_survive_one_clean_then_go_after_delete_retention() {
    let cfg = LogConfig {
        cleanup_policy: CleanupPolicy { delete: false, compact: true },
        delete_retention_ms: 1_000,
        ..small()
    };
    let mut log = PartitionLog::new(cfg, at(0));
    log.append_as_leader(&batch(&[(Some("a"), Some("1"))], 1, 300), 0, at(1));
    log.append_as_leader(&batch(&[(Some("a"), None)], 2, 0), 0, at(2));
    fill(&mut log, 8, 3);
    log.set_high_watermark(log.log_end_offset());
    log.clean(at(10)).unwrap();
    let tombstone =
        log.batches().flat_map(|b| b.records()).find(|(_, r)| r.key.as_deref() == Some(b"a".as_slice())).unwrap();
    assert_eq!(tombstone.1.value, None, "the tombstone replaced the value and is kept");
    assert_eq!(tombstone.1.timestamp_ms, 2, "record timestamps survive the delete-horizon rebase");
    fill(&mut log, 8, 20);
    log.set_high_watermark(log.log_end_offset());
    let Some(LogEvent::Compacted(stats)) = log.clean(at(2_000)) else { panic!("second clean") };
    assert_eq!(stats.tombstones_removed, 1);
    assert!(log.batches().flat_map(|b| b.records()).all(|(_, r)| r.key.as_deref() != Some(b"a".as_slice())));
}

#[test]
fn the_journal_replays_to_identical_segment_bytes() {
    let cfg =
        LogConfig { retention_bytes: 2_500, cleanup_policy: CleanupPolicy { delete: true, compact: true }, ..small() };
    let mut log = PartitionLog::new(cfg, at(0));
    log.enable_journal();
    let mut store = MemSegmentStore::new();
    let replay = |log: &mut PartitionLog, store: &mut MemSegmentStore| {
        for op in log.drain_journal() {
            store.apply(1, "t", 0, &op).unwrap();
        }
    };
    fill(&mut log, 14, 1);
    log.set_high_watermark(14);
    replay(&mut log, &mut store);
    log.clean(at(5));
    log.delete_old_segments(at(6));
    log.truncate_to(12, at(7));
    fill(&mut log, 3, 8);
    replay(&mut log, &mut store);
    let keys = store.segments(1, "t", 0);
    assert_eq!(
        keys.iter().map(|k| k.base_offset).collect::<Vec<_>>(),
        log.segments().iter().map(|s| s.base_offset()).collect::<Vec<_>>()
    );
    for (k, s) in keys.iter().zip(log.segments()) {
        assert_eq!(store.read(k, 0..store.len(k).unwrap()).unwrap(), s.log_bytes(), "segment {}", k.base_offset);
    }
}

#[test]
fn flush_messages_moves_the_recovery_point_and_a_machine_crash_keeps_only_that() {
    let mut log = PartitionLog::new(LogConfig { flush_messages: 3, ..LogConfig::default() }, at(0));
    let events = fill(&mut log, 7, 1);
    let flushes: Vec<i64> = events
        .iter()
        .filter_map(|e| if let LogEvent::Flushed { recovery_point } = e { Some(*recovery_point) } else { None })
        .collect();
    assert_eq!(flushes, [3, 6], "Kafka flushes when unflushed messages reach flush.messages");
    assert_eq!((log.recovery_point(), log.unflushed_messages()), (6, 1));
    let lost = log.lose_unflushed(at(10)).expect("offset 6 was never flushed");
    assert!(matches!(lost, LogEvent::Truncated { to: 6, log_end_offset: 6, .. }), "{lost:?}");
    assert!(log.lose_unflushed(at(11)).is_none(), "nothing unflushed is left");
}

#[test]
fn without_flush_messages_only_segment_rolls_move_the_recovery_point() {
    let mut log = PartitionLog::new(small(), at(0));
    let events = fill(&mut log, 12, 1);
    assert!(!events.iter().any(|e| matches!(e, LogEvent::Flushed { .. })), "default flush.messages never fires");
    let active_base = log.segments().last().unwrap().base_offset();
    assert!(active_base > 0 && active_base < 12);
    assert_eq!(log.recovery_point(), active_base, "a roll flushes every segment below the new one");
    log.lose_unflushed(at(5));
    assert_eq!(log.log_end_offset(), active_base, "a machine crash loses the active segment's appends");
    log.set_high_watermark(active_base);
    log.truncate_to(2, at(6));
    assert_eq!(log.recovery_point(), 2, "truncation pulls the recovery point back");
}

#[test]
fn fetch_progress_sees_other_segments_or_counts_the_batches_between_up_to_the_cap() {
    let mut log = PartitionLog::new(small(), at(0));
    let three = batch(&[(Some("a"), Some("1")), (Some("b"), Some("2")), (Some("c"), Some("3"))], 1, 10);
    log.append_as_leader(&three, 0, at(1));
    fill(&mut log, 14, 2);
    assert!(log.segments().len() >= 4, "several segments: {}", log.segments().len());
    let end = log.log_end_offset();
    // The definition (`DelayedFetch.tryComplete`), over every segment and batch of the log.
    let holding = |offset: i64| log.segments().iter().rposition(|s| s.base_offset() <= offset).unwrap_or(0);
    let naive = |offset: i64, to: i64, cap: u32| -> FetchProgress {
        if offset != to && holding(offset) != holding(to) {
            return FetchProgress::OtherSegment;
        }
        let bytes: u32 = log.segments()[holding(offset)]
            .batches()
            .iter()
            .filter(|b| b.last_offset() >= offset && b.last_offset() < to)
            .map(RecordBatch::size_bytes)
            .sum();
        FetchProgress::Bytes(bytes.min(cap))
    };
    for offset in -1..=end + 1 {
        for to in 0..=end + 1 {
            for cap in [0, 1, three.size_bytes(), u32::MAX] {
                assert_eq!(
                    log.fetch_progress(offset, to, cap),
                    naive(offset, to, cap),
                    "offset {offset}, end {to}, cap {cap}"
                );
            }
        }
    }
    let active = log.active().base_offset();
    assert_eq!(
        log.fetch_progress(active - 1, end, u32::MAX),
        FetchProgress::OtherSegment,
        "the fetch fell behind a roll"
    );
    assert_eq!(
        log.fetch_progress(end, active - 1, u32::MAX),
        FetchProgress::OtherSegment,
        "the fetch is a segment ahead of the end"
    );
    assert_eq!(log.fetch_progress(end, end, u32::MAX), FetchProgress::Bytes(0), "caught up");
    assert_eq!(
        log.fetch_progress(1, 3, u32::MAX),
        FetchProgress::Bytes(three.size_bytes()),
        "offset 1 lies in the batch 0..2"
    );
    assert_eq!(log.fetch_progress(1, 3, 7), FetchProgress::Bytes(7), "partition_max_bytes caps the count");
}

#[test]
fn a_flusher_check_with_nothing_new_keeps_the_last_flush_time() {
    // flush.ms 1000: the check at 1.5 s flushes the first records; the one at 3 s finds nothing
    // new and marks no flush (`UnifiedLog.flush` only flushes past the recovery point), so the
    // records appended at 3.2 s are flushed by the check at 3.5 s, not a whole second later.
    let mut log = PartitionLog::new(LogConfig { flush_ms: 1000, ..LogConfig::default() }, at(0));
    fill(&mut log, 2, 1);
    assert!(log.flush_if_due(at(1500)).is_some());
    assert!(log.flush_if_due(at(3000)).is_none(), "nothing new");
    log.append_as_leader(&batch(&[(None, Some("v"))], 2, 10), 0, at(3200));
    assert!(matches!(log.flush_if_due(at(3500)), Some(LogEvent::Flushed { recovery_point: 3 })));
}
