//! Clients' reconnect backoff (Kafka `ClusterConnectionStates`): after a connection to a broker
//! fails (reset, or closed on a request timeout) the client avoids that broker for
//! `reconnect.backoff.ms`, doubling per consecutive failure up to `reconnect.backoff.max.ms`
//! (Kafka adds ±20 % jitter; the model does not). A successful response clears it.

use super::time::{SimDuration, SimTime};
use crate::sim::vec_map::VecMap;

/// Per broker: consecutive failures and when the last one happened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReconnectBackoff {
    failures: VecMap<u16, (u32, SimTime)>,
}

impl ReconnectBackoff {
    /// The connection to `node` failed at `now`.
    pub fn failed(&mut self, node: u16, now: SimTime) {
        let count = self.failures.get(&node).map_or(0, |f| f.0);
        self.failures.insert(node, (count + 1, now));
    }

    /// `node` answered: its backoff is over.
    pub fn succeeded(&mut self, node: u16) {
        self.failures.remove(&node);
    }

    /// When the backoff of `node` ends (`None` if it never failed).
    pub fn ends(&self, node: u16, base: SimDuration, max: SimDuration) -> Option<SimTime> {
        let (count, at) = *self.failures.get(&node)?;
        let backoff = base.as_ns().saturating_mul(1 << count.saturating_sub(1).min(30)).min(max.as_ns());
        Some(at + SimDuration::from_ns(backoff))
    }

    /// Whether `node` is still backing off at `now`.
    pub fn blocks(&self, node: u16, now: SimTime, base: SimDuration, max: SimDuration) -> bool {
        self.ends(node, base, max).is_some_and(|end| end > now)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn backoff_doubles_per_failure_up_to_the_max_and_clears_on_success() {
        let (base, max) = (SimDuration::from_ms(50), SimDuration::from_ms(1000));
        let mut b = ReconnectBackoff::default();
        let ms = SimTime::from_ms;
        assert_eq!(b.ends(1, base, max), None);
        b.failed(1, ms(0));
        assert_eq!(b.ends(1, base, max), Some(ms(50)));
        b.failed(1, ms(50));
        assert_eq!(b.ends(1, base, max), Some(ms(150)));
        for _ in 0..10 {
            b.failed(1, ms(200));
        }
        assert_eq!(b.ends(1, base, max), Some(ms(1200)), "capped at reconnect.backoff.max.ms");
        assert!(b.blocks(1, ms(1199), base, max) && !b.blocks(1, ms(1200), base, max));
        b.succeeded(1);
        assert!(!b.blocks(1, ms(300), base, max));
    }
}
