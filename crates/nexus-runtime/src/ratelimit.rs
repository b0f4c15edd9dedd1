//! Per-provider request pacing for fetches: requests are spaced to the provider's published rate
//! limit, and a `429` with `Retry-After` pauses every fetch to that provider until it has passed.
//! A wait longer than the caller accepts is returned instead of slept, so a worker can put the
//! request back in the inbox rather than sit idle.
//!
//! The pacing sits in the HTTP client handed to `Adapter::fetch` ([`PacedHttp`]), so it counts
//! the requests an adapter really makes: none for a push provider that sends the data in the
//! webhook, one per page for a paged fetch, one per stream a push provider fetches on the side
//! (Junction's workout streams).

use std::sync::Arc;
use std::time::Duration;

use nexus_core::adapter::RateLimit;
use nexus_core::http::{HttpClient, HttpRequest, HttpResponse};
use nexus_core::{Error, ErrorKind};
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

/// How long a 429 without a usable `Retry-After` pauses the provider.
const DEFAULT_429_PAUSE: Duration = Duration::from_secs(60);

/// An [`HttpClient`] that takes a slot of its provider's [`RateGate`] before every request and
/// pauses the gate when the provider answers 429.
pub struct PacedHttp {
    inner: Arc<dyn HttpClient>,
    gate: Arc<RateGate>,
    provider: String,
    max_wait: Duration,
}

impl PacedHttp {
    /// Paces `inner` through `gate` for `provider`; a slot further away than `max_wait` fails the
    /// request with a `RateLimited` error carrying the wait as its `retry_after`.
    pub fn new(
        inner: Arc<dyn HttpClient>,
        gate: Arc<RateGate>,
        provider: &str,
        max_wait: Duration,
    ) -> PacedHttp {
        PacedHttp {
            inner,
            gate,
            provider: provider.to_owned(),
            max_wait,
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for PacedHttp {
    async fn send(&self, request: HttpRequest) -> nexus_core::Result<HttpResponse> {
        self.gate.acquire(self.max_wait).await.map_err(|wait| {
            Error::new(
                ErrorKind::RateLimited,
                "waiting for the provider's rate limit",
            )
            .with_provider(&self.provider)
            .with_retry_after(wait)
        })?;
        let response = self.inner.send(request).await?;
        if response.status == 429 {
            self.gate
                .pause(response.retry_after().unwrap_or(DEFAULT_429_PAUSE))
                .await;
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake provider API for the pacing tests: answers each request with the next status.
    struct FakeApi {
        statuses: std::sync::Mutex<Vec<(u16, Option<&'static str>)>>,
        sent: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl HttpClient for FakeApi {
        async fn send(&self, _: HttpRequest) -> nexus_core::Result<HttpResponse> {
            self.sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let (status, retry_after) = self.statuses.lock().unwrap().remove(0);
            Ok(HttpResponse {
                status,
                headers: retry_after
                    .map(|v| vec![("retry-after".to_owned(), v.to_owned())])
                    .unwrap_or_default(),
                body: bytes::Bytes::new(),
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_request_is_paced_and_a_429_pauses_the_provider() {
        let api = Arc::new(FakeApi {
            statuses: std::sync::Mutex::new(vec![(200, None), (200, None), (429, Some("30"))]),
            sent: std::sync::atomic::AtomicUsize::new(0),
        });
        let gate = Arc::new(RateGate::new(Some(RateLimit {
            requests: 2,
            per: Duration::from_secs(1),
        })));
        let http = PacedHttp::new(api.clone(), gate, "fake", Duration::from_secs(5));
        let get = || HttpRequest::get("https://api.example.test/x");
        let t0 = Instant::now();
        for _ in 0..3 {
            http.send(get()).await.unwrap();
        }
        // Three requests at 2/s: the third waits a second.
        assert_eq!(Instant::now() - t0, Duration::from_secs(1));
        // The 429 said 30 s: the next request is refused with the wait, and nothing is sent.
        let e = http.send(get()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(e.retry_after().unwrap() > Duration::from_secs(29));
        assert_eq!(api.sent.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

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
