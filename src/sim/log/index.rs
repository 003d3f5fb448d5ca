//! Sparse offset and time indexes of one segment (Kafka `OffsetIndex`, `TimeIndex`).
//!
//! Entries are appended by [`super::segment::Segment::append`] every `index.interval.bytes`;
//! `lookup(target)` returns the greatest entry at or below the target. Offset entries are 8
//! bytes on disk (int32 relative offset, int32 position), time entries 12 (int64 timestamp,
//! int32 relative offset); the capacity is `segment.index.bytes` divided by that.

/// One offset-index entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetEntry {
    /// Offset minus the segment's base offset.
    pub relative_offset: u32,
    /// Byte position in the segment's `.log`.
    pub position: u32,
}

/// One time-index entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeEntry {
    /// Largest timestamp seen so far in the segment.
    pub timestamp: i64,
    /// Relative offset of the batch holding it.
    pub relative_offset: u32,
}

/// An entry of a sparse index.
pub trait IndexEntry: Copy {
    /// Bytes per entry on disk.
    const BYTES: usize;
    /// The relative offset the entry refers to (for truncation).
    fn relative_offset(&self) -> u32;
    /// Appends the on-disk form.
    fn write(&self, out: &mut Vec<u8>);
}

impl IndexEntry for OffsetEntry {
    const BYTES: usize = 8;
    fn relative_offset(&self) -> u32 {
        self.relative_offset
    }
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }
}

impl IndexEntry for TimeEntry {
    const BYTES: usize = 12;
    fn relative_offset(&self) -> u32 {
        self.relative_offset
    }
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
    }
}

/// A sparse index holding at most `segment.index.bytes / E::BYTES` entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SparseIndex<E> {
    entries: Vec<E>,
    entries_max: usize,
}

/// The `.index`: relative offset → byte position.
pub type OffsetIndex = SparseIndex<OffsetEntry>;
/// The `.timeindex`: timestamp → relative offset.
pub type TimeIndex = SparseIndex<TimeEntry>;

impl<E: IndexEntry> SparseIndex<E> {
    /// An empty index of `index_bytes` bytes.
    pub fn new(index_bytes: u32) -> SparseIndex<E> {
        SparseIndex { entries: Vec::new(), entries_max: index_bytes as usize / E::BYTES }
    }

    /// True when no more entries fit.
    pub fn is_full(&self) -> bool {
        self.entries.len() >= self.entries_max
    }

    /// All entries.
    pub fn entries(&self) -> &[E] {
        &self.entries
    }

    /// Drops entries at or after `relative_offset`.
    pub fn truncate_to(&mut self, relative_offset: u32) {
        self.entries.retain(|e| e.relative_offset() < relative_offset);
    }

    /// The index file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * E::BYTES);
        self.entries.iter().for_each(|e| e.write(&mut out));
        out
    }

    /// The last entry for which `at_or_below` holds (entries are sorted, so it holds for a prefix).
    fn greatest(&self, at_or_below: impl Fn(&E) -> bool) -> Option<E> {
        let n = self.entries.partition_point(at_or_below);
        n.checked_sub(1).map(|i| self.entries[i])
    }
}

impl OffsetIndex {
    /// Appends an entry; offsets and positions must increase.
    pub fn append(&mut self, relative_offset: u32, position: u32) {
        assert!(!self.is_full(), "append to a full offset index");
        if let Some(last) = self.entries.last() {
            assert!(relative_offset > last.relative_offset && position > last.position, "offset index must grow");
        }
        self.entries.push(OffsetEntry { relative_offset, position });
    }

    /// The greatest entry with `relative_offset <= target` (Kafka `OffsetIndex.lookup`).
    pub fn lookup(&self, target: u32) -> Option<OffsetEntry> {
        self.greatest(|e| e.relative_offset <= target)
    }
}

impl TimeIndex {
    /// Appends only if `timestamp` is greater than the last entry's (Kafka `maybeAppend`).
    /// `force` skips the capacity check, as Kafka does when a segment becomes inactive.
    pub fn maybe_append(&mut self, timestamp: i64, relative_offset: u32, force: bool) -> bool {
        if (!force && self.is_full()) || self.entries.last().is_some_and(|last| timestamp <= last.timestamp) {
            return false;
        }
        self.entries.push(TimeEntry { timestamp, relative_offset });
        true
    }

    /// The entry with the greatest timestamp `<= target`.
    pub fn lookup(&self, target: i64) -> Option<TimeEntry> {
        self.greatest(|e| e.timestamp <= target)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn lookup_is_the_greatest_entry_at_or_below() {
        let mut idx = OffsetIndex::new(80);
        for (o, p) in [(10, 4000), (20, 8100), (35, 12500)] {
            idx.append(o, p);
        }
        assert_eq!(idx.lookup(5), None);
        assert_eq!(idx.lookup(10).unwrap().position, 4000);
        assert_eq!(idx.lookup(34).unwrap().position, 8100);
        assert_eq!(idx.lookup(1000).unwrap().position, 12500);
        assert_eq!(idx.to_bytes().len(), 24);
    }

    #[test]
    fn capacity_is_index_bytes_over_entry_size() {
        let mut idx = OffsetIndex::new(17);
        idx.append(1, 1);
        assert!(!idx.is_full());
        idx.append(2, 2);
        assert!(idx.is_full());
        let mut t = TimeIndex::new(24);
        assert!(t.maybe_append(5, 0, false));
        assert!(!t.maybe_append(5, 1, false), "timestamps must increase");
        assert!(t.maybe_append(6, 2, false));
        assert!(t.is_full());
        assert!(!t.maybe_append(9, 3, false));
        assert!(t.maybe_append(9, 3, true), "forced on roll");
    }
}
