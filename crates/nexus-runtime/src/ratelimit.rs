//! Per-provider request pacing for fetches: requests are spaced to the provider's published rate
//! limit, and a `429` with `Retry-After` pauses every fetch to that provider until it has passed.
//! A wait longer than the caller accepts is returned instead of slept, so a worker can put the
//! request back in the inbox rather than sit idle.

use std::time::Duration;

use nexus_core::adapter::RateLimit;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Paces requests to one provider.
#[derive(Debug)]
pub struct RateGate {
    min_interval: Duration,
    state: Mutex<GateState>,
}

#[derive(Debug)]
struct GateState {
    next_free: Instant,
    paused_until: Instant,
}

impl RateGate {
    /// A gate for `limit` (no spacing when `None`).
    pub fn new(limit: Option<RateLimit>) -> RateGate {
        let min_interval = match limit {
            Some(l) if l.requests > 0 => l.per / l.requests,
            _ => Duration::ZERO,
        };
        let now = Instant::now();
        RateGate {
            min_interval,
            state: Mutex::new(GateState {
                next_free: now,
                paused_until: now,
            }),
        }
    }

    /// Waits for a slot. If the slot is more than `max_wait` away, takes nothing and returns the
    /// wait as an error.
    pub async fn acquire(&self, max_wait: Duration) -> Result<(), Duration> {
        let at = {
            let mut s = self.state.lock().await;
            let now = Instant::now();
            let at = s.next_free.max(s.paused_until).max(now);
            let wait = at - now;
            if wait > max_wait {
                return Err(wait);
            }
            s.next_free = at + self.min_interval;
            at
        };
        tokio::time::sleep_until(at).await;
        Ok(())
    }

    /// Pauses every request for `d` (a provider's `Retry-After`).
    pub async fn pause(&self, d: Duration) {
        let mut s = self.state.lock().await;
        let until = Instant::now() + d;
        if until > s.paused_until {
            s.paused_until = until;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_and_honours_pauses() {
        let g = RateGate::new(Some(RateLimit {
            requests: 10,
            per: Duration::from_secs(1),
        }));
        let t0 = Instant::now();
        for _ in 0..3 {
            g.acquire(Duration::from_secs(5)).await.unwrap();
        }
        assert_eq!(Instant::now() - t0, Duration::from_millis(200));
        g.pause(Duration::from_secs(30)).await;
        let wait = g.acquire(Duration::from_secs(5)).await.unwrap_err();
        assert!(wait > Duration::from_secs(29), "{wait:?}");
        g.acquire(Duration::from_secs(60)).await.unwrap();
        assert!(Instant::now() - t0 >= Duration::from_secs(30));
    }
}
