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

/// A sparse offset index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffsetIndex {
    entries: Vec<OffsetEntry>,
    entries_max: usize,
}

impl OffsetIndex {
    /// Bytes per entry on disk.
    pub const ENTRY_BYTES: usize = 8;

    /// An empty index holding at most `index_bytes / 8` entries.
    pub fn new(index_bytes: u32) -> OffsetIndex {
        OffsetIndex { entries: Vec::new(), entries_max: index_bytes as usize / Self::ENTRY_BYTES }
    }

    /// Appends an entry; offsets and positions must increase.
    pub fn append(&mut self, relative_offset: u32, position: u32) {
        assert!(!self.is_full(), "append to a full offset index");
        if let Some(last) = self.entries.last() {
            assert!(relative_offset > last.relative_offset && position > last.position, "offset index must grow");
        }
        self.entries.push(OffsetEntry { relative_offset, position });
    }

    /// The greatest entry with `relative_offset <= target`, if any.
    pub fn lookup(&self, target: u32) -> Option<OffsetEntry> {
        let n = self.entries.partition_point(|e| e.relative_offset <= target);
        n.checked_sub(1).map(|i| self.entries[i])
    }

    /// True when no more entries fit.
    pub fn is_full(&self) -> bool {
        self.entries.len() >= self.entries_max
    }

    /// All entries.
    pub fn entries(&self) -> &[OffsetEntry] {
        &self.entries
    }

    /// Drops entries at or after `relative_offset`.
    pub fn truncate_to(&mut self, relative_offset: u32) {
        self.entries.retain(|e| e.relative_offset < relative_offset);
    }

    /// The `.index` file bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.entries
            .iter()
            .flat_map(|e| e.relative_offset.to_be_bytes().into_iter().chain(e.position.to_be_bytes()))
            .collect()
    }
}

/// A sparse time index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeIndex {
    entries: Vec<TimeEntry>,
    entries_max: usize,
}

impl TimeIndex {
    /// Bytes per entry on disk.
    pub const ENTRY_BYTES: usize = 12;

    /// An empty index holding at most `index_bytes / 12` entries.
    pub fn new(index_bytes: u32) -> TimeIndex {
        TimeIndex { entries: Vec::new(), entries_max: index_bytes as usize / Self::ENTRY_BYTES }
    }

    /// Appends only if `timestamp` is greater than the last entry's (Kafka `maybeAppend`).
    /// `force` skips the capacity check, as Kafka does when a segment becomes inactive.
    pub fn maybe_append(&mut self, timestamp: i64, relative_offset: u32, force: bool) -> bool {
        if !force && self.is_full() {
            return false;
        }
        match self.entries.last() {
            Some(last) if timestamp <= last.timestamp => false,
            _ => {
                self.entries.push(TimeEntry { timestamp, relative_offset });
                true
            }
        }
    }

    /// The entry with the greatest timestamp `<= target`, if any.
    pub fn lookup(&self, target: i64) -> Option<TimeEntry> {
        let n = self.entries.partition_point(|e| e.timestamp <= target);
        n.checked_sub(1).map(|i| self.entries[i])
    }

    /// True when no more entries fit.
    pub fn is_full(&self) -> bool {
        self.entries.len() >= self.entries_max
    }

    /// All entries.
    pub fn entries(&self) -> &[TimeEntry] {
        &self.entries
    }

    /// Drops entries at or after `relative_offset`.
    pub fn truncate_to(&mut self, relative_offset: u32) {
        self.entries.retain(|e| e.relative_offset < relative_offset);
    }

    /// The `.timeindex` file bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.entries
            .iter()
            .flat_map(|e| e.timestamp.to_be_bytes().into_iter().chain(e.relative_offset.to_be_bytes()))
            .collect()
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
