//! Reconnection backoff (pure: the caller passes the randomness in).
//!
//! As Mesos's scheduler library does after a disconnection, each attempt
//! waits a random delay in `[0, bound]`, the bound doubling from `min` up to
//! `max`; a successful subscription resets it. The randomness spreads the
//! resubscriptions of many schedulers after a master failover.

use std::time::Duration;

/// Exponential backoff with full jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    bound: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Backoff {
        let max = max.max(min);
        Backoff {
            min,
            max,
            bound: min,
        }
    }

    /// The next delay; `unit` is a random number in `[0, 1]` (clamped).
    pub fn next_delay(&mut self, unit: f64) -> Duration {
        let delay = self.bound.mul_f64(unit.clamp(0.0, 1.0));
        self.bound = (self.bound * 2).min(self.max);
        delay
    }

    /// The current upper bound of the next delay.
    pub fn bound(&self) -> Duration {
        self.bound
    }

    pub fn reset(&mut self) {
        self.bound = self.min;
    }
}

/// A random number in `[0, 1)` from the OS-seeded UUID generator (one
/// draw per reconnection: no need for a PRNG dependency).
pub fn random_unit() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64 >> 11;
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_doubles_up_to_the_maximum_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        assert_eq!(b.next_delay(1.0), Duration::from_millis(100));
        assert_eq!(b.next_delay(1.0), Duration::from_millis(200));
        assert_eq!(b.next_delay(0.5), Duration::from_millis(175));
        assert_eq!(b.next_delay(1.0), Duration::from_millis(350));
        assert_eq!(b.next_delay(0.0), Duration::ZERO);
        assert_eq!(b.next_delay(7.0), Duration::from_millis(350));
        b.reset();
        assert_eq!(b.bound(), Duration::from_millis(100));
    }

    #[test]
    fn random_units_stay_in_range() {
        for _ in 0..1000 {
            let u = random_unit();
            assert!((0.0..1.0).contains(&u), "{u}");
        }
    }
}
