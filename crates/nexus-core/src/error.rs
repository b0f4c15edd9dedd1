//! The one error type of Nexus: a [`ErrorKind`], a retryable/permanent status, and context
//! (provider, field, message). Crate-private `thiserror` enums elsewhere map into it.

use std::fmt;
use std::time::Duration;

/// What went wrong, coarse enough to drive decisions (status codes, retries, quarantine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request's signature is missing, malformed or does not match.
    InvalidSignature,
    /// The signature's timestamp is outside the accepted tolerance (replay protection).
    StaleTimestamp,
    /// A provider payload could not be parsed or holds a value of the wrong shape.
    MalformedPayload,
    /// The provider sent an event or data type this adapter does not handle.
    UnsupportedEvent,
    /// The provider rejected our credentials (HTTP 401) or a token is missing.
    Unauthorized,
    /// The provider refused access to the resource (HTTP 403).
    Forbidden,
    /// The provider asked us to slow down (HTTP 429); see [`Error::retry_after`].
    RateLimited,
    /// The provider does not have the requested record (HTTP 404).
    NotFound,
    /// The provider failed (5xx, unexpected status, network error).
    Upstream,
    /// An operation took longer than allowed.
    Timeout,
    /// Invalid configuration (missing secret, bad value).
    Config,
    /// The durable store failed.
    Storage,
    /// A delivery to a sink failed.
    Delivery,
    /// A bug or broken invariant inside Nexus.
    Internal,
}

impl ErrorKind {
    /// Every kind, for documentation and tests.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::InvalidSignature,
        ErrorKind::StaleTimestamp,
        ErrorKind::MalformedPayload,
        ErrorKind::UnsupportedEvent,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::RateLimited,
        ErrorKind::NotFound,
        ErrorKind::Upstream,
        ErrorKind::Timeout,
        ErrorKind::Config,
        ErrorKind::Storage,
        ErrorKind::Delivery,
        ErrorKind::Internal,
    ];

    /// The stable name of the kind, e.g. `invalid_signature`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidSignature => "invalid_signature",
            ErrorKind::StaleTimestamp => "stale_timestamp",
            ErrorKind::MalformedPayload => "malformed_payload",
            ErrorKind::UnsupportedEvent => "unsupported_event",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Upstream => "upstream",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Config => "config",
            ErrorKind::Storage => "storage",
            ErrorKind::Delivery => "delivery",
            ErrorKind::Internal => "internal",
        }
    }

    /// Parses a kind from its stable name (`invalid_signature`) or its Rust name (`InvalidSignature`).
    pub fn parse(s: &str) -> Option<ErrorKind> {
        ErrorKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s || format!("{k:?}") == s)
    }

    /// The default status of this kind: whether trying the same thing again may succeed.
    pub fn default_status(self) -> ErrorStatus {
        match self {
            ErrorKind::RateLimited
            | ErrorKind::Upstream
            | ErrorKind::Timeout
            | ErrorKind::Storage
            | ErrorKind::Delivery => ErrorStatus::Retryable,
            ErrorKind::InvalidSignature
            | ErrorKind::StaleTimestamp
            | ErrorKind::MalformedPayload
            | ErrorKind::UnsupportedEvent
            | ErrorKind::Unauthorized
            | ErrorKind::Forbidden
            | ErrorKind::NotFound
            | ErrorKind::Config
            | ErrorKind::Internal => ErrorStatus::Permanent,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an operation that failed may succeed when tried again unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorStatus {
    /// Trying again later may succeed (network, 5xx, 429, storage busy).
    Retryable,
    /// Trying again will fail the same way until something changes (bad input, bad credentials).
    Permanent,
}

/// The Nexus error: kind, status, and the context a reader needs to act on it.
///
/// Display reads like `malformed_payload: oura: field `day`: expected a date, got "2024-13-01"`.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    status: ErrorStatus,
    provider: Option<String>,
    field: Option<String>,
    message: String,
    retry_after: Option<Duration>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// Result with the Nexus [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a human-readable reason; status is the kind's default.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            status: kind.default_status(),
            provider: None,
            field: None,
            message: message.into(),
            retry_after: None,
            source: None,
        }
    }

    /// A malformed provider payload: names the provider, the field (JSON path) and the reason.
    pub fn malformed(provider: &str, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::new(ErrorKind::MalformedPayload, reason)
            .with_provider(provider)
            .with_field(field)
    }

    /// An event or data type the adapter does not handle.
    pub fn unsupported(provider: &str, what: impl Into<String>) -> Self {
        Error::new(ErrorKind::UnsupportedEvent, what).with_provider(provider)
    }

    /// A signature that does not verify.
    pub fn invalid_signature(provider: &str, reason: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidSignature, reason).with_provider(provider)
    }

    /// Sets the provider id.
    pub fn with_provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = Some(provider.into());
        self
    }

    /// Sets the field (a JSON path such as `data[0].metadata.start_time`, or a header name).
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Overrides the retryable/permanent status.
    pub fn with_status(mut self, status: ErrorStatus) -> Self {
        self.status = status;
        self
    }

    /// Sets how long to wait before retrying (from `Retry-After` or a rate-limit header).
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The retryable/permanent status.
    pub fn status(&self) -> ErrorStatus {
        self.status
    }

    /// True when trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        self.status == ErrorStatus::Retryable
    }

    /// The provider the error concerns, if any.
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    /// The field the error concerns, if any.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The reason, without kind, provider or field.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Suggested delay before a retry, if the provider gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(p) = &self.provider {
            write!(f, ": {p}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(source) = &self.source {
            write!(f, " ({source})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_kind_provider_field_and_reason() {
        let e = Error::malformed("oura", "day", "expected a date, got \"2024-13-01\"");
        assert_eq!(
            e.to_string(),
            "malformed_payload: oura: field `day`: expected a date, got \"2024-13-01\""
        );
        assert!(!e.is_retryable());
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::parse(k.as_str()), Some(*k));
            assert_eq!(ErrorKind::parse(&format!("{k:?}")), Some(*k));
        }
    }

    #[test]
    fn rate_limits_are_retryable_and_carry_a_delay() {
        let e = Error::new(ErrorKind::RateLimited, "429").with_retry_after(Duration::from_secs(30));
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
    }
}
