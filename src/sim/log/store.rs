//! Where segment bytes persist: the [`SegmentStore`] contract, the in-memory implementation the
//! core and native tests use, and [`StoreOp`], the journal a [`super::PartitionLog`] records so a
//! slower store (IndexedDB in the browser) can mirror it after each run slice.

use crate::sim::vec_map::VecMap;
use std::ops::Range;

/// Identifies one segment: which broker's log, which partition, which base offset.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentKey {
    /// Broker id.
    pub broker: u16,
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: u32,
    /// Base offset (the 20-digit file name).
    pub base_offset: i64,
}

/// A change to one partition's segments, in the order the log made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreOp {
    /// A new empty segment.
    Create {
        /// Its base offset.
        base_offset: i64,
    },
    /// Bytes appended at `position` (always the segment's current length).
    Append {
        /// Segment base offset.
        base_offset: i64,
        /// Where they go.
        position: u32,
        /// Whole batches.
        bytes: Vec<u8>,
    },
    /// The segment is cut to `len` bytes.
    Truncate {
        /// Segment base offset.
        base_offset: i64,
        /// New length.
        len: u32,
    },
    /// The segment's bytes are replaced (compaction swaps a cleaned segment in atomically).
    Replace {
        /// Segment base offset.
        base_offset: i64,
        /// New bytes.
        bytes: Vec<u8>,
    },
    /// The segment is gone (retention, truncation, an empty active segment replaced on roll).
    Delete {
        /// Segment base offset.
        base_offset: i64,
    },
}

/// A store error: what was asked and why it could not be done.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No such segment.
    #[error("no segment {0:?}")]
    NoSegment(SegmentKey),
    /// The segment already exists.
    #[error("segment {0:?} already exists")]
    Exists(SegmentKey),
    /// An append not at the end, or a range outside the segment.
    #[error("segment {key:?}: {problem}")]
    OutOfRange {
        /// The segment.
        key: SegmentKey,
        /// What was out of range.
        problem: String,
    },
    /// The backing store failed (quota, closed database, …).
    #[error("storage failed: {0}")]
    Backend(String),
}

/// Persistent segment bytes.
///
/// Contract: segments are byte arrays keyed by [`SegmentKey`]. Appends go exactly at the current
/// end; reads take a half-open byte range `[start, end)` within the segment; `replace` swaps the
/// whole content atomically. Every method either succeeds completely or changes nothing.
///
/// # Errors
/// [`StoreError::NoSegment`] for a missing key, [`StoreError::Exists`] when creating twice,
/// [`StoreError::OutOfRange`] for an append not at the end or a range past the end.
pub trait SegmentStore {
    /// Creates an empty segment.
    fn create(&mut self, key: &SegmentKey) -> Result<(), StoreError>;
    /// Appends `bytes` at `position`, which must equal the current length.
    fn append(&mut self, key: &SegmentKey, position: u64, bytes: &[u8]) -> Result<(), StoreError>;
    /// Bytes in `range` (half-open).
    fn read(&self, key: &SegmentKey, range: Range<u64>) -> Result<Vec<u8>, StoreError>;
    /// Current length.
    fn len(&self, key: &SegmentKey) -> Result<u64, StoreError>;
    /// Cuts to `len` bytes (`len` ≤ current length).
    fn truncate(&mut self, key: &SegmentKey, len: u64) -> Result<(), StoreError>;
    /// Replaces the whole content.
    fn replace(&mut self, key: &SegmentKey, bytes: &[u8]) -> Result<(), StoreError>;
    /// Deletes the segment.
    fn delete(&mut self, key: &SegmentKey) -> Result<(), StoreError>;
    /// Every segment of one partition of one broker, by base offset.
    fn segments(&self, broker: u16, topic: &str, partition: u32) -> Vec<SegmentKey>;

    /// Applies a log's journal for one partition.
    fn apply(&mut self, broker: u16, topic: &str, partition: u32, op: &StoreOp) -> Result<(), StoreError> {
        let key = |base_offset: i64| SegmentKey { broker, topic: topic.to_string(), partition, base_offset };
        match op {
            StoreOp::Create { base_offset } => self.create(&key(*base_offset)),
            StoreOp::Append { base_offset, position, bytes } => {
                self.append(&key(*base_offset), u64::from(*position), bytes)
            }
            StoreOp::Truncate { base_offset, len } => self.truncate(&key(*base_offset), u64::from(*len)),
            StoreOp::Replace { base_offset, bytes } => self.replace(&key(*base_offset), bytes),
            StoreOp::Delete { base_offset } => self.delete(&key(*base_offset)),
        }
    }
}

/// Segments in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemSegmentStore {
    segments: VecMap<SegmentKey, Vec<u8>>,
}

impl MemSegmentStore {
    /// An empty store.
    pub fn new() -> MemSegmentStore {
        MemSegmentStore::default()
    }

    fn get(&self, key: &SegmentKey) -> Result<&Vec<u8>, StoreError> {
        self.segments.get(key).ok_or_else(|| StoreError::NoSegment(key.clone()))
    }

    fn get_mut(&mut self, key: &SegmentKey) -> Result<&mut Vec<u8>, StoreError> {
        self.segments.get_mut(key).ok_or_else(|| StoreError::NoSegment(key.clone()))
    }

    /// Every key, in order.
    pub fn keys(&self) -> impl Iterator<Item = &SegmentKey> {
        self.segments.keys()
    }
}

impl SegmentStore for MemSegmentStore {
    fn create(&mut self, key: &SegmentKey) -> Result<(), StoreError> {
        if self.segments.contains_key(key) {
            return Err(StoreError::Exists(key.clone()));
        }
        self.segments.insert(key.clone(), Vec::new());
        Ok(())
    }

    fn append(&mut self, key: &SegmentKey, position: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let seg = self.get_mut(key)?;
        if position != seg.len() as u64 {
            return Err(StoreError::OutOfRange {
                key: key.clone(),
                problem: format!("append at {position} but length is {}", seg.len()),
            });
        }
        seg.extend_from_slice(bytes);
        Ok(())
    }

    fn read(&self, key: &SegmentKey, range: Range<u64>) -> Result<Vec<u8>, StoreError> {
        let seg = self.get(key)?;
        if range.start > range.end || range.end > seg.len() as u64 {
            return Err(StoreError::OutOfRange {
                key: key.clone(),
                problem: format!("read {range:?} of {} bytes", seg.len()),
            });
        }
        Ok(seg[range.start as usize..range.end as usize].to_vec())
    }

    fn len(&self, key: &SegmentKey) -> Result<u64, StoreError> {
        Ok(self.get(key)?.len() as u64)
    }

    fn truncate(&mut self, key: &SegmentKey, len: u64) -> Result<(), StoreError> {
        let seg = self.get_mut(key)?;
        if len > seg.len() as u64 {
            return Err(StoreError::OutOfRange {
                key: key.clone(),
                problem: format!("truncate to {len} of {} bytes", seg.len()),
            });
        }
        seg.truncate(len as usize);
        Ok(())
    }

    fn replace(&mut self, key: &SegmentKey, bytes: &[u8]) -> Result<(), StoreError> {
        *self.get_mut(key)? = bytes.to_vec();
        Ok(())
    }

    fn delete(&mut self, key: &SegmentKey) -> Result<(), StoreError> {
        self.segments.remove(key).map(|_| ()).ok_or_else(|| StoreError::NoSegment(key.clone()))
    }

    fn segments(&self, broker: u16, topic: &str, partition: u32) -> Vec<SegmentKey> {
        self.segments
            .keys()
            .filter(|k| k.broker == broker && k.topic == topic && k.partition == partition)
            .cloned()
            .collect()
    }
}

/// The contract every [`SegmentStore`] must meet; run against each implementation.
pub fn check_contract<S: SegmentStore>(store: &mut S) {
    let key = SegmentKey { broker: 1, topic: "t".into(), partition: 0, base_offset: 0 };
    let other = SegmentKey { base_offset: 10, ..key.clone() };
    assert_eq!(store.read(&key, 0..0), Err(StoreError::NoSegment(key.clone())));
    store.create(&key).unwrap();
    assert_eq!(store.create(&key), Err(StoreError::Exists(key.clone())));
    store.append(&key, 0, b"hello").unwrap();
    assert!(matches!(store.append(&key, 3, b"x"), Err(StoreError::OutOfRange { .. })), "appends only at the end");
    store.append(&key, 5, b" world").unwrap();
    assert_eq!(store.read(&key, 0..5).unwrap(), b"hello");
    assert_eq!(store.read(&key, 6..11).unwrap(), b"world");
    assert!(matches!(store.read(&key, 6..12), Err(StoreError::OutOfRange { .. })));
    store.truncate(&key, 5).unwrap();
    assert_eq!(store.len(&key).unwrap(), 5);
    store.create(&other).unwrap();
    store.replace(&other, b"abc").unwrap();
    assert_eq!(store.segments(1, "t", 0), [key.clone(), other.clone()]);
    store.delete(&key).unwrap();
    assert_eq!(store.delete(&key), Err(StoreError::NoSegment(key)));
    assert_eq!(store.segments(1, "t", 0), [other]);
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn mem_store_meets_the_contract() {
        check_contract(&mut MemSegmentStore::new());
    }
}
