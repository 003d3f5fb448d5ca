//! The storage drill-down of one replica: its log's segments with their sparse offset and time
//! indexes, the offsets that bound the log, and the settings that roll, retain and compact it.

use super::node::NodeId;
use super::{Node, Sim};

/// One segment of a replica's log.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentView {
    /// First offset (the file name).
    pub base_offset: i64,
    /// The offset after its last record.
    pub next_offset: i64,
    /// `.log` size in bytes.
    pub size_bytes: u32,
    /// Record batches in it.
    pub batches: usize,
    /// The last (active) segment, the only one appended to.
    pub active: bool,
    /// Largest record timestamp, ms (-1: none).
    pub max_timestamp_ms: i64,
    /// `.index` entries: (absolute offset, byte position in `.log`).
    pub offset_index: Vec<(i64, u32)>,
    /// `.timeindex` entries: (timestamp ms, absolute offset).
    pub time_index: Vec<(i64, i64)>,
}

/// One replica's log as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaStorageView {
    /// The broker holding it.
    pub broker: NodeId,
    /// `topic-partition`.
    pub tp: String,
    /// First offset still in the log (retention moves it).
    pub log_start_offset: i64,
    /// Log end offset.
    pub log_end_offset: i64,
    /// High watermark.
    pub high_watermark: i64,
    /// Offsets below this are flushed (survive a machine crash).
    pub recovery_point: i64,
    /// The Kafka settings that shape it, as `(name, value)`.
    pub settings: Vec<(&'static str, String)>,
    /// Segments, oldest first.
    pub segments: Vec<SegmentView>,
}

impl Sim {
    /// Every (broker, `topic-partition`) replica, in order.
    pub fn replica_names(&self) -> Vec<(NodeId, String)> {
        self.node_ids()
            .filter_map(|id| match self.node(id) {
                Some(Node::Broker(b)) => {
                    Some(b.replicas().keys().map(move |tp| (id, tp.to_string())).collect::<Vec<_>>())
                }
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// The storage view of `tp` (`topic-partition`) on `broker`, if it hosts it.
    pub fn replica_storage(&self, broker: NodeId, tp: &str) -> Option<ReplicaStorageView> {
        let Some(Node::Broker(b)) = self.node(broker) else { return None };
        let (tp, replica) = b.replicas().iter().find(|(t, _)| t.to_string() == tp)?;
        let log = &replica.log;
        let last = log.segments().len().saturating_sub(1);
        let segments = log
            .segments()
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let base = s.base_offset();
                SegmentView {
                    base_offset: base,
                    next_offset: s.next_offset(),
                    size_bytes: s.size_bytes(),
                    batches: s.batches().len(),
                    active: i == last,
                    max_timestamp_ms: s.max_timestamp(),
                    offset_index: s
                        .offset_index()
                        .entries()
                        .iter()
                        .map(|e| (base + i64::from(e.relative_offset), e.position))
                        .collect(),
                    time_index: s
                        .time_index()
                        .entries()
                        .iter()
                        .map(|e| (e.timestamp, base + i64::from(e.relative_offset)))
                        .collect(),
                }
            })
            .collect();
        let c = log.config();
        let policy = match (c.cleanup_policy.delete, c.cleanup_policy.compact) {
            (true, true) => "delete,compact",
            (false, true) => "compact",
            _ => "delete",
        };
        Some(ReplicaStorageView {
            broker,
            tp: tp.to_string(),
            log_start_offset: log.log_start_offset(),
            log_end_offset: log.log_end_offset(),
            high_watermark: log.high_watermark(),
            recovery_point: log.recovery_point(),
            settings: vec![
                ("cleanup.policy", policy.to_string()),
                ("segment.bytes", c.segment_bytes.to_string()),
                ("segment.ms", c.segment_ms.to_string()),
                ("index.interval.bytes", c.index_interval_bytes.to_string()),
                ("retention.ms", c.retention_ms.to_string()),
                ("retention.bytes", c.retention_bytes.to_string()),
            ],
            segments,
        })
    }

    /// The bytes of a segment's `.log`, `.index` or `.timeindex` file (`ext`), as Kafka writes
    /// them (what `brokerscope export` saves).
    pub fn segment_file(&self, broker: NodeId, tp: &str, base_offset: i64, ext: &str) -> Option<Vec<u8>> {
        let Some(Node::Broker(b)) = self.node(broker) else { return None };
        let (_, replica) = b.replicas().iter().find(|(t, _)| t.to_string() == tp)?;
        let segment = replica.log.segments().iter().find(|s| s.base_offset() == base_offset)?;
        match ext {
            "log" => Some(segment.log_bytes()),
            "index" => Some(segment.offset_index().to_bytes()),
            "timeindex" => Some(segment.time_index().to_bytes()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::scenario::parse_json;
    use crate::sim::time::SimTime;

    #[test]
    fn segments_roll_by_time_and_their_indexes_point_into_the_log() {
        let json = r#"{"name": "t", "duration_ms": 3000, "brokers": 1,
            "topics": [{"name": "t", "partitions": 1, "replication_factor": 1,
                        "config": {"segment.ms": 500, "index.interval.bytes": 1024}}],
            "producers": [{"id": "p", "config": {"linger.ms": 0},
                           "workload": {"topic": "t", "records": 200, "rate_per_sec": 100, "value_bytes": 1000}}]}"#;
        let s = parse_json(json).unwrap();
        let mut sim = Sim::new(&s, 1);
        sim.run_until(SimTime::from_ms(3000), u64::MAX);
        let b1 = NodeId::broker(1);
        assert!(sim.replica_names().contains(&(b1, "t-0".to_string())));
        let v = sim.replica_storage(b1, "t-0").unwrap();
        assert!(v.segments.len() > 2, "{} segments", v.segments.len());
        assert_eq!(v.segments.iter().filter(|s| s.active).count(), 1);
        assert!(v.segments.last().unwrap().active);
        for pair in v.segments.windows(2) {
            assert_eq!(pair[0].next_offset, pair[1].base_offset, "segments are contiguous");
        }
        assert_eq!(v.log_end_offset, v.segments.last().unwrap().next_offset);
        assert!(v.settings.contains(&("segment.ms", "500".to_string())));
        // Every .index entry names a batch boundary inside its segment's .log bytes.
        let full = v.segments.iter().find(|s| !s.offset_index.is_empty()).expect("an indexed segment");
        let log = sim.segment_file(b1, "t-0", full.base_offset, "log").unwrap();
        assert_eq!(log.len() as u32, full.size_bytes);
        for &(offset, position) in &full.offset_index {
            let at = position as usize;
            let base = i64::from_be_bytes(log[at..at + 8].try_into().unwrap());
            assert!(base <= offset && offset < full.next_offset, "entry {offset} → batch at {position} based {base}");
        }
        let index = sim.segment_file(b1, "t-0", full.base_offset, "index").unwrap();
        assert_eq!(index.len(), full.offset_index.len() * 8, "8 bytes per .index entry");
        assert!(sim.segment_file(b1, "t-0", full.base_offset, "txt").is_none());
        assert!(sim.replica_storage(b1, "nope-0").is_none());
    }
}
