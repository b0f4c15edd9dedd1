//! Retry timing: the published delivery schedule with jitter, `Retry-After` handling, and the
//! backoff of retryable processing failures (provider fetch 5xx, 429).
//!
//! **Delivery schedule** (default, [`crate::config::DEFAULT_SCHEDULE_SECS`]): attempt 1 at once, then
//! 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after the previous failure: 8 attempts over about
//! 27.6 hours. Each delay gets +-20 % jitter. After a throttling answer (`429`, `503` with
//! `Retry-After`) the next delay is the larger of the scheduled delay and the requested one (capped
//! at `max_retry_after`); a throttling answer without `Retry-After` waits at least `throttle_floor`
//! (60 s). When the schedule is exhausted the delivery is kept as `failed` and can be retried by
//! command (`nexus deliveries retry`).

use std::time::Duration;

use rand::Rng as _;

use crate::config::DeliveryConfig;

/// The delivery retry policy.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Delay before attempt n+1 is `schedule[n]`; its length is the number of attempts.
    pub schedule: Vec<Duration>,
    /// Jitter fraction (0.2 = +-20 %).
    pub jitter: f64,
    /// Minimum delay after a throttling answer without `Retry-After`.
    pub throttle_floor: Duration,
    /// Longest `Retry-After` honoured.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// From the `[delivery]` config.
    pub fn from_config(c: &DeliveryConfig) -> RetryPolicy {
        RetryPolicy {
            schedule: c
                .schedule_secs
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
            jitter: c.jitter,
            throttle_floor: Duration::from_secs(c.throttle_floor_secs),
            max_retry_after: Duration::from_secs(c.max_retry_after_secs),
        }
    }

    /// The delay before the next attempt after `attempts_made` failed attempts, or `None` when the
    /// schedule is exhausted. `retry_after` is what the receiver asked for; `throttled` says the
    /// failure was a throttling answer.
    pub fn next_delay(
        &self,
        attempts_made: u32,
        retry_after: Option<Duration>,
        throttled: bool,
    ) -> Option<Duration> {
        let base = *self.schedule.get(attempts_made as usize)?;
        let mut delay = jittered(base, self.jitter);
        if let Some(asked) = retry_after {
            delay = delay.max(asked.min(self.max_retry_after));
        } else if throttled {
            delay = delay.max(self.throttle_floor);
        }
        Some(delay)
    }
}

/// `base` +- `fraction` at random.
pub fn jittered(base: Duration, fraction: f64) -> Duration {
    if base.is_zero() || fraction <= 0.0 {
        return base;
    }
    let f = rand::rng().random_range(-fraction..=fraction);
    base.mul_f64((1.0 + f).max(0.0))
}

/// Backoff of a retryable processing failure (fetch 5xx, network, storage): 1 s doubling per
/// attempt up to 1 h, +-20 % jitter; at least the provider's `Retry-After`.
pub fn processing_backoff(attempts_made: u32, retry_after: Option<Duration>) -> Duration {
    let exp = attempts_made.min(12);
    let base = Duration::from_secs(1u64 << exp).min(Duration::from_secs(3600));
    let d = jittered(base, 0.2);
    match retry_after {
        Some(r) => d.max(r.min(Duration::from_secs(6 * 3600))),
        None => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::from_config(&DeliveryConfig::default())
    }

    #[test]
    fn default_schedule_is_the_published_one_with_bounded_jitter() {
        let p = policy();
        assert_eq!(p.next_delay(0, None, false), Some(Duration::ZERO));
        for (n, secs) in [(1u32, 5u64), (2, 300), (3, 1800), (4, 7200), (7, 36000)] {
            for _ in 0..50 {
                let d = p.next_delay(n, None, false).unwrap().as_secs_f64();
                let b = secs as f64;
                assert!(d >= b * 0.8 - 1e-9 && d <= b * 1.2 + 1e-9, "{n}: {d}");
            }
        }
        assert_eq!(p.next_delay(8, None, false), None);
    }

    #[test]
    fn retry_after_and_throttling_extend_the_delay() {
        let p = policy();
        assert_eq!(
            p.next_delay(1, Some(Duration::from_secs(120)), true),
            Some(Duration::from_secs(120))
        );
        // Capped.
        assert_eq!(
            p.next_delay(1, Some(Duration::from_secs(10 * 86400)), true),
            Some(Duration::from_secs(6 * 3600))
        );
        assert!(p.next_delay(1, None, true).unwrap() >= Duration::from_secs(60));
        // A longer scheduled delay wins over a short Retry-After.
        assert!(
            p.next_delay(3, Some(Duration::from_secs(1)), true).unwrap()
                >= Duration::from_secs(1440)
        );
    }

    #[test]
    fn processing_backoff_grows_and_is_capped() {
        assert!(processing_backoff(0, None) <= Duration::from_millis(1200));
        assert!(processing_backoff(5, None) >= Duration::from_millis(25_600));
        assert!(processing_backoff(40, None) <= Duration::from_secs(4320));
        assert!(processing_backoff(0, Some(Duration::from_secs(30))) >= Duration::from_secs(30));
    }
}
