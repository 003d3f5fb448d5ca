//! Seeded, platform-independent randomness.
//!
//! One `u64` seed makes the root [`SimRng`]; every subsystem gets its own stream with
//! [`SimRng::fork`]. A fork depends only on the root seed and the stream's label, never on how
//! many numbers other streams have drawn, so adding a node does not shift the network's draws.
//!
//! The generator is xoshiro256** seeded through splitmix64: integer arithmetic only, so the same
//! seed gives the same numbers natively and in wasm. Probabilities are [`Ratio`]s of integers;
//! nothing in a decision uses floating point.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A probability as an integer ratio `numerator / denominator` (`numerator <= denominator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ratio {
    /// Favourable outcomes.
    pub numerator: u64,
    /// All outcomes; never zero.
    pub denominator: u64,
}

impl Ratio {
    /// Probability zero.
    pub const ZERO: Ratio = Ratio { numerator: 0, denominator: 1 };
    /// Probability one.
    pub const ONE: Ratio = Ratio { numerator: 1, denominator: 1 };

    /// A ratio, or `None` if the denominator is zero or the numerator exceeds it.
    pub fn new(numerator: u64, denominator: u64) -> Option<Ratio> {
        (denominator > 0 && numerator <= denominator).then_some(Ratio { numerator, denominator })
    }

    /// Parses `"1/10"`, `"5%"` or `"0"`/`"1"`; `None` when malformed or above one.
    pub fn parse(text: &str) -> Option<Ratio> {
        let text = text.trim();
        if let Some(pct) = text.strip_suffix('%') {
            return Ratio::new(pct.trim().parse().ok()?, 100);
        }
        match text.split_once('/') {
            Some((n, d)) => Ratio::new(n.trim().parse().ok()?, d.trim().parse().ok()?),
            None => Ratio::new(text.parse().ok()?, 1),
        }
    }

    /// True when the ratio is zero.
    pub fn is_zero(self) -> bool {
        self.numerator == 0
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

/// splitmix64: expands one seed into well-mixed words (Vigna's reference constants).
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a over a label: turns a stream name into a number without any randomness.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// A deterministic pseudo-random stream (xoshiro256**).
#[derive(Clone, Debug)]
pub struct SimRng {
    seed: u64,
    s: [u64; 4],
}

impl SimRng {
    /// The root stream of a run.
    pub fn new(seed: u64) -> SimRng {
        let mut sm = seed;
        let s = [splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm)];
        SimRng { seed, s }
    }

    /// The seed this stream was made from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// An independent child stream named `stream`. Depends only on this stream's seed and the
    /// label, not on how much has been drawn from this stream or any other.
    pub fn fork(&self, stream: &str) -> SimRng {
        let mut sm = self.seed ^ fnv1a64(stream.as_bytes());
        SimRng::new(splitmix64(&mut sm))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// The next 32 random bits (the high half, the better-mixed one).
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A uniform integer in `0..bound` without modulo bias (Lemire's method). `bound > 0`.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "below(0) has no possible value");
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// A uniform integer in `low..=high`.
    pub fn range_inclusive(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high, "empty range {low}..={high}");
        match (high - low).checked_add(1) {
            Some(span) => low + self.below(span),
            None => self.next_u64(),
        }
    }

    /// True with probability `ratio`.
    pub fn chance(&mut self, ratio: Ratio) -> bool {
        assert!(ratio.denominator > 0 && ratio.numerator <= ratio.denominator);
        self.below(ratio.denominator) < ratio.numerator
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn splitmix_matches_reference_output() {
        // Reference values of splitmix64 seeded with 1234567 (Vigna's C implementation).
        let mut state = 1234567;
        assert_eq!(splitmix64(&mut state), 6457827717110365317);
        assert_eq!(splitmix64(&mut state), 3203168211198807973);
    }

    #[test]
    fn same_seed_same_stream() {
        let mut a = SimRng::new(42);
        let mut b = SimRng::new(42);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(SimRng::new(43).next_u64(), xs[0]);
    }

    #[test]
    fn fork_ignores_draws_from_other_streams() {
        let root = SimRng::new(7);
        let mut busy = root.clone();
        for _ in 0..1000 {
            busy.next_u64();
        }
        let mut net_a = root.fork("network");
        let mut net_b = busy.fork("network");
        assert_eq!(net_a.next_u64(), net_b.next_u64());
        assert_ne!(root.fork("network").next_u64(), root.fork("broker-1").next_u64());
    }

    #[test]
    fn below_stays_in_bounds_and_covers_them() {
        let mut rng = SimRng::new(1);
        let mut seen = [0u32; 6];
        for _ in 0..6000 {
            seen[rng.below(6) as usize] += 1;
        }
        assert!(seen.iter().all(|n| (800..1200).contains(n)), "skewed: {seen:?}");
        assert_eq!(rng.range_inclusive(5, 5), 5);
        let _ = rng.range_inclusive(0, u64::MAX);
    }

    #[test]
    fn chance_respects_the_extremes_and_the_ratio() {
        let mut rng = SimRng::new(9);
        assert!((0..100).all(|_| !rng.chance(Ratio::ZERO)));
        assert!((0..100).all(|_| rng.chance(Ratio::ONE)));
        let hits = (0..10_000).filter(|_| rng.chance(Ratio::new(1, 4).unwrap())).count();
        assert!((2300..2700).contains(&hits), "1/4 gave {hits}/10000");
    }

    #[test]
    fn ratio_parses_fractions_and_percentages() {
        assert_eq!(Ratio::parse("1/10"), Ratio::new(1, 10));
        assert_eq!(Ratio::parse("5%"), Ratio::new(5, 100));
        assert_eq!(Ratio::parse("0"), Some(Ratio::ZERO));
        assert_eq!(Ratio::parse("3/2"), None);
        assert_eq!(Ratio::parse("1/0"), None);
        assert_eq!(Ratio::parse("x"), None);
    }
}
