//! Simulated time. The core never reads a clock: time is an input.
//!
//! [`SimTime`] is an instant measured in nanoseconds since the simulation began (it starts at
//! zero); [`SimDuration`] is a span. Both carry their unit in every constructor and accessor
//! name (`from_ms`, `as_ms`), so a reader never has to guess.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

const NS_PER_US: u64 = 1_000;
const NS_PER_MS: u64 = 1_000_000;

/// An instant of simulated time: nanoseconds since the simulation began.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimTime {
    ns: u64,
}

/// A span of simulated time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimDuration {
    ns: u64,
}

impl SimTime {
    /// The moment the simulation starts.
    pub const ZERO: SimTime = SimTime { ns: 0 };
    /// The largest representable instant; used as "never".
    pub const MAX: SimTime = SimTime { ns: u64::MAX };

    /// An instant `ns` nanoseconds after the start.
    pub const fn from_ns(ns: u64) -> Self {
        SimTime { ns }
    }
    /// An instant `us` microseconds after the start (saturating).
    pub const fn from_us(us: u64) -> Self {
        SimTime { ns: us.saturating_mul(NS_PER_US) }
    }
    /// An instant `ms` milliseconds after the start (saturating).
    pub const fn from_ms(ms: u64) -> Self {
        SimTime { ns: ms.saturating_mul(NS_PER_MS) }
    }
    /// Nanoseconds since the start.
    pub const fn as_ns(self) -> u64 {
        self.ns
    }
    /// Whole milliseconds since the start (rounded down), as Kafka's `*Ms` fields count.
    pub const fn as_ms(self) -> u64 {
        self.ns / NS_PER_MS
    }
    /// Time elapsed since `earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration { ns: self.ns.saturating_sub(earlier.ns) }
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration { ns: 0 };

    /// A span of `ns` nanoseconds.
    pub const fn from_ns(ns: u64) -> Self {
        SimDuration { ns }
    }
    /// A span of `us` microseconds (saturating).
    pub const fn from_us(us: u64) -> Self {
        SimDuration { ns: us.saturating_mul(NS_PER_US) }
    }
    /// A span of `ms` milliseconds (saturating).
    pub const fn from_ms(ms: u64) -> Self {
        SimDuration { ns: ms.saturating_mul(NS_PER_MS) }
    }
    /// The span in nanoseconds.
    pub const fn as_ns(self) -> u64 {
        self.ns
    }
    /// The span in whole milliseconds (rounded down).
    pub const fn as_ms(self) -> u64 {
        self.ns / NS_PER_MS
    }
    /// `self - other`, or zero.
    pub const fn saturating_sub(self, other: SimDuration) -> SimDuration {
        SimDuration { ns: self.ns.saturating_sub(other.ns) }
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimDuration) -> SimTime {
        SimTime { ns: self.ns.saturating_add(rhs.ns) }
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, rhs: SimDuration) {
        *self = *self + rhs;
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    /// Panics if `rhs` is later than `self`: a negative span is a bug in the caller.
    fn sub(self, rhs: SimTime) -> SimDuration {
        assert!(self.ns >= rhs.ns, "time went backwards: {} - {}", self, rhs);
        SimDuration { ns: self.ns - rhs.ns }
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, rhs: SimDuration) -> SimDuration {
        SimDuration { ns: self.ns.saturating_add(rhs.ns) }
    }
}

/// Writes `ms` with three decimals (microsecond precision), e.g. `12.345`.
fn write_ms(f: &mut fmt::Formatter<'_>, ns: u64) -> fmt::Result {
    write!(f, "{}.{:03}ms", ns / NS_PER_MS, (ns % NS_PER_MS) / NS_PER_US)
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_ms(f, self.ns)
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_ms(f, self.ns)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn units_convert_exactly() {
        assert_eq!(SimTime::from_ms(3).as_ns(), 3_000_000);
        assert_eq!(SimDuration::from_us(1500).as_ms(), 1);
        assert_eq!((SimTime::ZERO + SimDuration::from_ms(7)).as_ms(), 7);
        assert_eq!(SimTime::from_ms(10) - SimTime::from_ms(4), SimDuration::from_ms(6));
    }

    #[test]
    fn display_is_milliseconds_with_microseconds() {
        assert_eq!(SimTime::from_ns(12_345_678).to_string(), "12.345ms");
        assert_eq!(SimDuration::ZERO.to_string(), "0.000ms");
    }

    #[test]
    fn addition_saturates_instead_of_wrapping() {
        assert_eq!(SimTime::MAX + SimDuration::from_ms(1), SimTime::MAX);
        assert_eq!(SimTime::from_ms(u64::MAX), SimTime::MAX);
    }
}
