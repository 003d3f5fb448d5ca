//! The built-in uniform sticky partitioner (KIP-794, Kafka `BuiltInPartitioner`) and the
//! round-robin partitioner, for records without a key (keyed records use
//! [`crate::sim::partitioner::partition_for_key`]).
//!
//! - Records stick to one partition; after each append `producedBytes` grows by the batch's
//!   estimated-size growth. The partitioner switches when `producedBytes >= batch.size` and the
//!   partition's last batch is full (or its deque empty), or unconditionally at `2 × batch.size`.
//!   A deferred switch is taken before the next append once all batches there are full.
//! - The next partition is `toPositive(random) % available` without load stats. With adaptive
//!   partitioning, [`BuiltInPartitioner::update_load_stats`] builds a cumulative frequency table
//!   from queue sizes (`freq = maxQueue + 1 − queue`) and the choice is the first entry strictly
//!   greater than `random % total`.

use crate::sim::partitioner::to_positive;
use crate::sim::rng::SimRng;

/// Queue-size weighted choice (Kafka `PartitionLoadStats`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadStats {
    /// Cumulative frequency table.
    pub cumulative_frequency: Vec<u32>,
    /// Partition of each table entry.
    pub partition_ids: Vec<u32>,
}

/// The sticky state of one topic.
#[derive(Clone, Debug)]
pub struct BuiltInPartitioner {
    sticky_batch_size: u32,
    sticky: Option<(u32, u32)>,
    load_stats: Option<LoadStats>,
}

/// A uniformly random non-negative int32, as `Utils.toPositive(ThreadLocalRandom.nextInt())`.
pub fn random_partition_seed(rng: &mut SimRng) -> u32 {
    to_positive(rng.next_u32() as i32) as u32
}

impl BuiltInPartitioner {
    /// A partitioner switching every `batch_size` bytes (`max(1, batch.size)`).
    pub fn new(batch_size: u32) -> BuiltInPartitioner {
        BuiltInPartitioner { sticky_batch_size: batch_size.max(1), sticky: None, load_stats: None }
    }

    /// The current sticky partition, choosing one if there is none (`peekCurrentPartitionInfo`).
    /// `available` lists partitions with a leader, in metadata order.
    pub fn current(&mut self, rng: &mut SimRng, available: &[u32], partitions: u32) -> u32 {
        if let Some((p, _)) = self.sticky {
            return p;
        }
        let p = self.next_partition(rng, available, partitions);
        self.sticky = Some((p, 0));
        p
    }

    /// Bytes produced to the sticky partition since it was chosen.
    pub fn produced_bytes(&self) -> u32 {
        self.sticky.map_or(0, |(_, b)| b)
    }

    /// The current load stats, if adaptive partitioning is active.
    pub fn load_stats(&self) -> Option<&LoadStats> {
        self.load_stats.as_ref()
    }

    fn next_partition(&self, rng: &mut SimRng, available: &[u32], partitions: u32) -> u32 {
        let random = random_partition_seed(rng);
        match &self.load_stats {
            Some(stats) => {
                let total = *stats.cumulative_frequency.last().expect("non-empty table");
                let weighted = random % total;
                let index = stats.cumulative_frequency.partition_point(|f| *f <= weighted);
                stats.partition_ids[index]
            }
            None if !available.is_empty() => available[random as usize % available.len()],
            None => random % partitions,
        }
    }

    /// After an append to the sticky partition (`updatePartitionInfo`): counts the bytes and
    /// switches when due. `all_batches_full` is whether the partition's last batch is full (or
    /// its deque empty). Returns the new partition when it switched.
    pub fn on_append(
        &mut self,
        appended_bytes: u32,
        all_batches_full: bool,
        rng: &mut SimRng,
        available: &[u32],
        partitions: u32,
    ) -> Option<u32> {
        let (p, produced) = self.sticky?;
        let produced = produced.saturating_add(appended_bytes);
        self.sticky = Some((p, produced));
        let size = self.sticky_batch_size;
        if (produced >= size && all_batches_full) || produced >= size.saturating_mul(2) {
            let next = self.next_partition(rng, available, partitions);
            self.sticky = Some((next, 0));
            return Some(next);
        }
        None
    }

    /// Rebuilds the load stats from queue sizes (`updatePartitionLoadStats`): `queue_sizes` and
    /// `partition_ids` of the partitions not excluded by `partitioner.availability.timeout.ms`,
    /// of `deques` in all; `None` turns adaptive choice off. The table's vectors are reused: this
    /// runs on every wakeup of the sender, which under backpressure is every record.
    pub fn update_load_stats(&mut self, stats: Option<(&[u32], &[u32], usize)>) {
        let reuse = self.load_stats.take();
        self.load_stats = stats
            .and_then(|(queue_sizes, partition_ids, deques)| build_cft_into(queue_sizes, partition_ids, deques, reuse));
    }
}

/// The cumulative frequency table of Kafka's `updatePartitionLoadStats`:
/// `queue_sizes[..length]` of the partitions `partition_ids[..length]` left in, of
/// `queue_sizes.len()` in all.
pub fn build_cft(queue_sizes: &[u32], partition_ids: Vec<u32>, length: usize) -> Option<LoadStats> {
    assert_eq!(queue_sizes.len(), partition_ids.len());
    build_cft_into(&queue_sizes[..length], &partition_ids[..length], queue_sizes.len(), None)
}

/// [`build_cft`] of the `queue_sizes` of the `partition_ids` left in, of `deques` in all,
/// written into `reuse`'s vectors when given. None when no partition is left in, when there
/// are fewer than two deques, or when every deque is left in and all are as long (the choice
/// is then uniform).
fn build_cft_into(
    queue_sizes: &[u32],
    partition_ids: &[u32],
    deques: usize,
    reuse: Option<LoadStats>,
) -> Option<LoadStats> {
    assert_eq!(queue_sizes.len(), partition_ids.len());
    let max = queue_sizes.iter().copied().max()?;
    if deques < 2 {
        return None;
    }
    let all_equal = queue_sizes.iter().all(|q| *q == queue_sizes[0]);
    if all_equal && queue_sizes.len() == deques {
        return None;
    }
    let mut stats = reuse.unwrap_or(LoadStats { cumulative_frequency: Vec::new(), partition_ids: Vec::new() });
    let mut running = 0;
    stats.cumulative_frequency.clear();
    stats.cumulative_frequency.extend(queue_sizes.iter().map(|q| {
        running += max + 1 - q;
        running
    }));
    stats.partition_ids.clear();
    stats.partition_ids.extend_from_slice(partition_ids);
    Some(stats)
}

/// Kafka's `RoundRobinPartitioner`: a per-topic counter over the available partitions.
#[derive(Clone, Debug, Default)]
pub struct RoundRobin {
    counter: u32,
}

impl RoundRobin {
    /// The next partition.
    pub fn next(&mut self, available: &[u32], partitions: u32) -> u32 {
        let n = self.counter;
        self.counter = self.counter.wrapping_add(1);
        let positive = to_positive(n as i32) as u32;
        if available.is_empty() {
            positive % partitions
        } else {
            available[positive as usize % available.len()]
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn cft_matches_the_reference_example() {
        // shared/reference §1: queues {5,0,3,0,1} give CFT [1,7,10,16,21].
        let stats = build_cft(&[5, 0, 3, 0, 1], vec![0, 1, 2, 3, 4], 5).unwrap();
        assert_eq!(stats.cumulative_frequency, [1, 7, 10, 16, 21]);
        // Kafka's own comment: queues 0 3 1 → 4 5 8.
        assert_eq!(build_cft(&[0, 3, 1], vec![0, 1, 2], 3).unwrap().cumulative_frequency, [4, 5, 8]);
        assert_eq!(build_cft(&[2, 2, 2], vec![0, 1, 2], 3), None, "all equal: uniform");
        assert!(build_cft(&[2, 2, 2], vec![0, 1, 2], 2).is_some(), "an excluded partition keeps the table");
        assert_eq!(build_cft(&[4], vec![0], 1), None, "one partition");
    }

    #[test]
    fn weighted_choice_is_the_first_entry_strictly_greater() {
        let mut p = BuiltInPartitioner::new(100);
        p.update_load_stats(Some((&[0, 3, 1], &[10, 11, 12], 3)));
        let mut rng = SimRng::new(8);
        let mut counts = [0u32; 3];
        for _ in 0..8000 {
            p.sticky = None;
            counts[(p.current(&mut rng, &[], 3) - 10) as usize] += 1;
        }
        // Frequencies 4 : 1 : 3 out of 8.
        assert!(
            (3800..4200).contains(&counts[0]) && (850..1150).contains(&counts[1]) && (2800..3200).contains(&counts[2]),
            "{counts:?}"
        );
    }

    #[test]
    fn switches_at_batch_size_only_when_the_last_batch_is_full_or_at_twice() {
        let mut rng = SimRng::new(3);
        let mut p = BuiltInPartitioner::new(1000);
        let first = p.current(&mut rng, &[0, 1, 2, 3], 4);
        assert_eq!(p.on_append(600, false, &mut rng, &[0, 1, 2, 3], 4), None);
        assert_eq!(p.on_append(600, false, &mut rng, &[0, 1, 2, 3], 4), None, "1200 >= 1000 but the batch is not full");
        assert_eq!(p.current(&mut rng, &[0, 1, 2, 3], 4), first);
        assert!(p.on_append(0, true, &mut rng, &[0, 1, 2, 3], 4).is_some(), "deferred switch once full");
        assert_eq!(p.produced_bytes(), 0);
        p.on_append(1999, false, &mut rng, &[0, 1, 2, 3], 4);
        assert!(p.on_append(1, false, &mut rng, &[0, 1, 2, 3], 4).is_some(), "2 × batch.size switches regardless");
    }

    #[test]
    fn uniform_choice_uses_available_partitions_only() {
        let mut rng = SimRng::new(5);
        let mut p = BuiltInPartitioner::new(10);
        for _ in 0..200 {
            p.sticky = None;
            assert!([1, 3].contains(&p.current(&mut rng, &[1, 3], 4)));
        }
        let mut rr = RoundRobin::default();
        assert_eq!((0..6).map(|_| rr.next(&[0, 2, 5], 6)).collect::<Vec<_>>(), [0, 2, 5, 0, 2, 5]);
    }
}
