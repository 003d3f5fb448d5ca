//! Kafka's `ExponentialBackoff(initial, 2, max, jitter)` with integer arithmetic.
//!
//! Kafka clamps `initial` to `max`, then `backoff(n) = min(initial · 2^min(n, expMax) · r, max)`
//! with `expMax = log2(max / initial)` and `r` uniform in `[1 − jitter, 1 + jitter)`. Since
//! `initial · 2^expMax = max`, the term is `min(initial · 2^n, max)`; the jitter factor is drawn
//! in per-mille from the seeded stream instead of a float (`[800, 1200)` for Kafka's 0.2).

use crate::sim::rng::SimRng;

/// An exponential backoff schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExponentialBackoff {
    initial_ms: u64,
    max_ms: u64,
    jitter_permille: u64,
}

impl ExponentialBackoff {
    /// `retry.backoff.ms`, `retry.backoff.max.ms` and a jitter in per-mille (Kafka uses 200).
    pub fn new(initial_ms: u64, max_ms: u64, jitter_permille: u64) -> ExponentialBackoff {
        assert!(jitter_permille < 1000, "jitter must be below 100%");
        ExponentialBackoff { initial_ms: initial_ms.min(max_ms), max_ms, jitter_permille }
    }

    /// The deterministic part: `min(initial · 2^attempts, max)`.
    pub fn term_ms(&self, attempts: u32) -> u64 {
        let doubled = if attempts >= 64 { u64::MAX } else { self.initial_ms.saturating_mul(1u64 << attempts.min(63)) };
        doubled.min(self.max_ms)
    }

    /// The backoff after `attempts` failures, with jitter drawn from `rng`.
    pub fn backoff_ms(&self, attempts: u32, rng: &mut SimRng) -> u64 {
        let term = self.term_ms(attempts);
        // Kafka's `expMax` is 0 when the maximum is not above the initial interval: the
        // initial interval then comes back as it is, without jitter.
        if self.jitter_permille == 0 || self.initial_ms >= self.max_ms {
            return term;
        }
        let factor = rng.range_inclusive(1000 - self.jitter_permille, 1000 + self.jitter_permille - 1);
        (term.saturating_mul(factor) / 1000).min(self.max_ms)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn matches_kafka_without_jitter() {
        // kafka-vectors exponential_backoff_no_jitter.
        let cases: [(u64, u64, [u64; 8]); 4] = [
            (100, 1000, [100, 200, 400, 800, 1000, 1000, 1000, 1000]),
            (100, 100, [100; 8]),
            (50, 10000, [50, 100, 200, 400, 800, 1600, 3200, 6400]),
            (1000, 100, [100; 8]),
        ];
        let mut rng = SimRng::new(1);
        for (initial, max, expected) in cases {
            let b = ExponentialBackoff::new(initial, max, 0);
            let got: Vec<u64> = (0..8).map(|n| b.backoff_ms(n, &mut rng)).collect();
            assert_eq!(got, expected, "initial {initial} max {max}");
        }
    }

    #[test]
    fn jitter_stays_within_twenty_percent_and_under_max() {
        let b = ExponentialBackoff::new(100, 1000, 200);
        let mut rng = SimRng::new(4);
        let draws: Vec<u64> = (0..500).map(|_| b.backoff_ms(1, &mut rng)).collect();
        assert!(draws.iter().all(|d| (160..240).contains(d)), "200 ms ± 20%");
        assert!(draws.iter().min() < Some(&175) && draws.iter().max() > Some(&225), "the range is used");
        assert!((0..200).all(|_| b.backoff_ms(9, &mut rng) <= 1000));
    }

    #[test]
    fn a_maximum_not_above_the_initial_interval_has_no_jitter() {
        // `ExponentialBackoff.backoff` returns the initial interval at once when `expMax` is 0.
        let mut rng = SimRng::new(4);
        for (initial, max) in [(300, 300), (1000, 100)] {
            let b = ExponentialBackoff::new(initial, max, 200);
            let draws: Vec<u64> = (0..50).map(|n| b.backoff_ms(n % 5, &mut rng)).collect();
            assert!(draws.iter().all(|d| *d == initial.min(max)), "{initial}/{max}: {draws:?}");
        }
    }
}
