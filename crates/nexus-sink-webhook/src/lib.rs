//! The `webhook` delivery sink: each envelope is POSTed to a URL as JSON, signed per the
//! [Standard Webhooks](https://www.standardwebhooks.com/) spec 1.0.0.
//!
//! - `webhook-id` is [`Delivery::id`], the same on every attempt, so receivers can dedupe on it;
//! - `webhook-timestamp` is the unix time in seconds of the attempt;
//! - `webhook-signature` is `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` for each
//!   configured secret, space-separated (two secrets while rotating);
//! - redirects are not followed; the status is classified by
//!   [`DeliveryOutcome::from_http_status`] (2xx delivered, 410 disable, 408/425/429/5xx retry with
//!   `Retry-After` honoured, other 3xx/4xx permanent); timeouts and transport errors are retryable;
//! - the deliveries of a batch are sent concurrently, up to `max_concurrency` at a time.
//!
//! Configuration (one `[[sinks]]` table of `nexus.toml`, as JSON):
//!
//! ```json
//! {"kind": "webhook", "url": "https://example.com/hooks", "secrets": ["whsec_..."], "timeout_s": 10}
//! ```
//!
//! `"secret": "whsec_..."` is the same as `"secrets": ["whsec_..."]`. In `nexus.toml`:
//!
//! ```toml
//! [tenants.acme.sinks.main]
//! kind = "webhook"
//! url = "https://acme.example/hooks/nexus"
//! secrets = ["whsec_..."]          # two while rotating: ["whsec_old...", "whsec_new..."]
//! timeout_s = 10                   # default 15
//! max_concurrency = 16             # requests of one batch in flight
//! ```

#[cfg(feature = "test-oracle")]
pub mod oracle;
mod signing;

use std::sync::Arc;
use std::time::Duration;

use nexus_core::{Delivery, DeliveryOutcome, Error, ErrorKind, Result, Sink, SinkFactory};
use nexus_http::{ClientOptions, ReqwestClient};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub use signing::{
    MAX_KEY_BYTES, MIN_KEY_BYTES, SECRET_PREFIX, WebhookSecret, signature_header, valid_msg_id,
};

/// The sink kind.
pub const KIND: &str = "webhook";

/// Default timeout of one attempt; the spec recommends waiting 15 to 30 seconds at most.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Default number of requests of one batch in flight at once.
pub const DEFAULT_MAX_CONCURRENCY: usize = 16;

/// How many bytes of a failed response's body are kept in the outcome's reason.
const REASON_BODY_BYTES: usize = 200;

/// How many response body bytes are read at most (the rest is dropped with the connection).
const MAX_RESPONSE_BYTES: usize = 20_000;

/// The JSON configuration of a webhook sink. Unknown keys (the runtime's own `name`, `tenant`,
/// ...) are ignored.
#[derive(Clone, serde::Deserialize)]
pub struct WebhookConfig {
    /// Must be `webhook` when present.
    #[serde(default)]
    pub kind: Option<String>,
    /// Where to POST (`http` or `https`).
    pub url: String,
    /// One `whsec_...` secret, or two while rotating (each attempt is signed with every one).
    #[serde(default)]
    pub secrets: Vec<String>,
    /// One `whsec_...` secret (the same as `secrets = [secret]`; not together with `secrets`).
    #[serde(default)]
    pub secret: Option<String>,
    /// Timeout of one attempt in seconds (connect + send + response headers and body).
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// Requests of one batch in flight at once.
    #[serde(default)]
    pub max_concurrency: Option<usize>,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &redacted_url(&self.url))
            .field(
                "secrets",
                &format!(
                    "<{} redacted>",
                    self.secrets.len() + usize::from(self.secret.is_some())
                ),
            )
            .field("timeout_s", &self.timeout_s)
            .field("max_concurrency", &self.max_concurrency)
            .finish()
    }
}

/// The URL without its query string, user info or fragment (they may carry tokens), for logs.
pub fn redacted_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let had_query = u.query().is_some();
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_username("");
            let _ = u.set_password(None);
            let mut s = u.to_string();
            if had_query {
                s.push_str("?<redacted>");
            }
            s
        }
        Err(_) => "<invalid url>".to_owned(),
    }
}

/// Sends deliveries as signed webhooks.
#[derive(Debug, Clone)]
pub struct WebhookSink {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    url: reqwest::Url,
    secrets: Vec<WebhookSecret>,
    client: reqwest::Client,
    timeout: Duration,
    max_concurrency: usize,
}

impl WebhookSink {
    /// Builds a sink from its JSON configuration.
    pub fn from_json(config: &serde_json::Value) -> Result<WebhookSink> {
        let config: WebhookConfig = serde_json::from_value(config.clone()).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("invalid webhook sink configuration: {e}"),
            )
        })?;
        WebhookSink::new(&config)
    }

    /// Builds a sink from its configuration.
    pub fn new(config: &WebhookConfig) -> Result<WebhookSink> {
        if let Some(kind) = &config.kind
            && kind != KIND
        {
            return Err(Error::new(
                ErrorKind::Config,
                format!("a webhook sink configuration has kind `{KIND}`, not `{kind}`"),
            )
            .with_field("kind"));
        }
        let url = reqwest::Url::parse(&config.url).map_err(|e| {
            Error::new(ErrorKind::Config, format!("not a valid URL: {e}")).with_field("url")
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "the webhook URL must be http:// or https:// with a host, got {}",
                    redacted_url(&config.url)
                ),
            )
            .with_field("url"));
        }
        let all: Vec<&String> = match (&config.secret, config.secrets.is_empty()) {
            (Some(_), false) => {
                return Err(Error::new(
                    ErrorKind::Config,
                    "give either `secret` or `secrets`, not both",
                )
                .with_field("secret"));
            }
            (Some(one), true) => vec![one],
            (None, false) => config.secrets.iter().collect(),
            (None, true) => {
                return Err(Error::new(
                    ErrorKind::Config,
                    "a webhook sink needs a `whsec_...` secret to sign with (`secret`, or \
                     `secrets` with two while rotating)",
                )
                .with_field("secrets"));
            }
        };
        let secrets = all
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                WebhookSecret::parse(s).map_err(|e| {
                    Error::new(ErrorKind::Config, e.message().to_owned())
                        .with_field(format!("secrets[{i}]"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let timeout = match config.timeout_s {
            None => DEFAULT_TIMEOUT,
            Some(s) if s.is_finite() && s > 0.0 && s <= 300.0 => Duration::from_secs_f64(s),
            Some(s) => {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("timeout_s must be more than 0 and at most 300 seconds, got {s}"),
                )
                .with_field("timeout_s"));
            }
        };
        let max_concurrency = config.max_concurrency.unwrap_or(DEFAULT_MAX_CONCURRENCY);
        if max_concurrency == 0 {
            return Err(
                Error::new(ErrorKind::Config, "max_concurrency must be at least 1")
                    .with_field("max_concurrency"),
            );
        }
        let client = ReqwestClient::with_options(&ClientOptions {
            timeout,
            connect_timeout: timeout.min(Duration::from_secs(10)),
            follow_redirects: false,
        })?
        .reqwest()
        .clone();
        Ok(WebhookSink {
            inner: Arc::new(Inner {
                url,
                secrets,
                client,
                timeout,
                max_concurrency,
            }),
        })
    }

    /// Sends one delivery now and classifies the result.
    pub async fn deliver_one(&self, delivery: &Delivery) -> DeliveryOutcome {
        self.inner.send(delivery, unix_now_s()).await
    }
}

impl Inner {
    async fn send(&self, delivery: &Delivery, timestamp: i64) -> DeliveryOutcome {
        if !valid_msg_id(&delivery.id) {
            return DeliveryOutcome::Permanent {
                reason: "the delivery id cannot be a webhook-id (empty, or holds `.`, `,`, \
                         spaces or non-ASCII)"
                    .to_owned(),
            };
        }
        let signature = signature_header(&self.secrets, &delivery.id, timestamp, &delivery.body);
        let request = self
            .client
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.body.clone());
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return self.transport_failure(&e),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, unix_now_s()));
        let outcome = DeliveryOutcome::from_http_status(status, retry_after);
        if matches!(outcome, DeliveryOutcome::Delivered) {
            // Read (a bounded part of) the body so the connection can be reused.
            let _ = read_bounded(response).await;
            return outcome;
        }
        let snippet = read_bounded(response).await.map(|b| body_snippet(&b));
        with_detail(outcome, snippet.as_deref())
    }

    fn transport_failure(&self, e: &reqwest::Error) -> DeliveryOutcome {
        let host = self.url.host_str().unwrap_or("?");
        let reason = if e.is_timeout() {
            format!(
                "no answer from {host} within {:.1} s (timeout)",
                self.timeout.as_secs_f64()
            )
        } else if e.is_connect() {
            format!("could not connect to {host}")
        } else {
            format!("request to {host} failed: {}", error_chain(e))
        };
        DeliveryOutcome::Retry {
            after: None,
            reason,
        }
    }
}

/// The error and its causes, without the URL (it may carry tokens).
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() {
        "transport error".to_owned()
    } else {
        parts.join(": ")
    }
}

async fn read_bounded(mut response: reqwest::Response) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_RESPONSE_BYTES.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if buf.len() >= MAX_RESPONSE_BYTES {
            break;
        }
    }
    Some(buf)
}

fn body_snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut out: String = text.chars().take(REASON_BODY_BYTES).collect();
    if out.len() < text.len() {
        out.push_str("...");
    }
    out.replace(['\n', '\r'], " ")
}

fn with_detail(outcome: DeliveryOutcome, snippet: Option<&str>) -> DeliveryOutcome {
    let Some(snippet) = snippet.filter(|s| !s.is_empty()) else {
        return outcome;
    };
    let add = |reason: String| format!("{reason}: {snippet}");
    match outcome {
        DeliveryOutcome::Delivered => DeliveryOutcome::Delivered,
        DeliveryOutcome::Retry { after, reason } => DeliveryOutcome::Retry {
            after,
            reason: add(reason),
        },
        DeliveryOutcome::Permanent { reason } => DeliveryOutcome::Permanent {
            reason: add(reason),
        },
        DeliveryOutcome::Disable { reason } => DeliveryOutcome::Disable {
            reason: add(reason),
        },
    }
}

/// `Retry-After` as a delay: delta-seconds, or an HTTP date (a date in the past means now).
/// Clamping it to a sane range is the dispatcher's job.
pub fn parse_retry_after(value: &str, now_s: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    let secs = at.as_second().saturating_sub(now_s).max(0);
    Some(Duration::from_secs(secs.unsigned_abs()))
}

fn unix_now_s() -> i64 {
    jiff::Timestamp::now().as_second()
}

#[async_trait::async_trait]
impl Sink for WebhookSink {
    fn kind(&self) -> &str {
        KIND
    }

    async fn deliver(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
        if batch.len() == 1 {
            return vec![self.deliver_one(&batch[0]).await];
        }
        let limit = Arc::new(Semaphore::new(self.inner.max_concurrency));
        let mut tasks = JoinSet::new();
        for (i, delivery) in batch.iter().enumerate() {
            let inner = Arc::clone(&self.inner);
            let delivery = delivery.clone();
            let limit = Arc::clone(&limit);
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                (i, inner.send(&delivery, unix_now_s()).await)
            });
        }
        let mut outcomes: Vec<Option<DeliveryOutcome>> = vec![None; batch.len()];
        while let Some(joined) = tasks.join_next().await {
            if let Ok((i, outcome)) = joined
                && let Some(slot) = outcomes.get_mut(i)
            {
                *slot = Some(outcome);
            }
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| DeliveryOutcome::Retry {
                    after: None,
                    reason: "the delivery task stopped before it finished".to_owned(),
                })
            })
            .collect()
    }
}

fn build(config: &serde_json::Value) -> Result<Box<dyn Sink>> {
    Ok(Box::new(WebhookSink::from_json(config)?))
}

/// The registered `webhook` sink kind.
pub static WEBHOOK_SINK: SinkFactory = SinkFactory {
    kind: KIND,
    description: "POSTs each envelope as JSON to a URL, signed per Standard Webhooks (webhook-id, \
                  webhook-timestamp, webhook-signature)",
    build,
};

nexus_core::register_sink!(WEBHOOK_SINK);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_the_field() {
        let cases = [
            (
                serde_json::json!({"url": "ftp://x", "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}),
                "url",
            ),
            (
                serde_json::json!({"url": "http://127.0.0.1:9/", "secrets": []}),
                "secrets",
            ),
            (
                serde_json::json!({"url": "http://127.0.0.1:9/", "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "fake-not-whsec"]}),
                "secrets[1]",
            ),
            (
                serde_json::json!({"url": "http://127.0.0.1:9/", "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], "timeout_s": 0}),
                "timeout_s",
            ),
            (
                serde_json::json!({"kind": "jsonl", "url": "http://127.0.0.1:9/", "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}),
                "kind",
            ),
        ];
        for (json, field) in cases {
            let err = WebhookSink::from_json(&json).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert_eq!(err.field(), Some(field), "{json}: {err}");
        }
        let missing = WebhookSink::from_json(&serde_json::json!({"url": "http://x/"})).unwrap_err();
        assert!(missing.to_string().contains("secret"), "{missing}");
        let both = WebhookSink::from_json(&serde_json::json!({
            "url": "http://x/",
            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
        }))
        .unwrap_err();
        assert_eq!(both.field(), Some("secret"));
        WebhookSink::from_json(&serde_json::json!({
            "url": "http://x/",
            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        }))
        .unwrap();
    }

    #[test]
    fn the_factory_is_registered_and_builds() {
        let factory = nexus_core::registry::sink(KIND).expect("webhook sink registered");
        let sink = (factory.build)(&serde_json::json!({
            "kind": "webhook",
            "name": "ignored-runtime-key",
            "url": "http://127.0.0.1:9/hook",
            "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            "timeout_s": 2.5
        }))
        .unwrap();
        assert_eq!(sink.kind(), "webhook");
    }

    #[test]
    fn debug_and_logs_never_show_secrets_or_query_tokens() {
        let config: WebhookConfig = serde_json::from_value(serde_json::json!({
            "url": "https://user:fake-pass@example.com/h?token=fake-token",
            "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
        }))
        .unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("MfKQ9r8"), "{shown}");
        assert!(!shown.contains("fake-token"), "{shown}");
        assert!(!shown.contains("fake-pass"), "{shown}");
        assert!(
            shown.contains("https://example.com/h?<redacted>"),
            "{shown}"
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        assert_eq!(parse_retry_after("7", 0), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", 0), Some(Duration::ZERO));
        // Thu, 01 Jan 1970 00:01:40 GMT = 100 s after the epoch.
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 500),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
        assert_eq!(parse_retry_after("-5", 0), None);
    }

    #[test]
    fn snippets_are_short_and_single_line() {
        let long = "x".repeat(500);
        let s = body_snippet(long.as_bytes());
        assert_eq!(s.len(), REASON_BODY_BYTES + 3);
        assert_eq!(body_snippet(b"a\nb"), "a b");
    }
}
