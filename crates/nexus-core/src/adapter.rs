//! The provider adapter trait (ARCHITECTURE.md, "The two extension traits") and the values that flow
//! through it: inbound requests, notifications, raw records and normalized items.
//!
//! The life of a webhook: [`Adapter::handshake`] (subscription challenges) or [`Adapter::verify`]
//! (signature on the raw bytes, before parsing) -> [`Adapter::parse`] (who, what, which record) ->
//! [`Adapter::fetch`] (notify-then-fetch providers call the provider API; push providers return the
//! records the notification carried) -> [`Adapter::normalize`] (pure: raw record -> items).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::http::HttpClient;
use crate::{Device, Error, ErrorKind, EventType, Item, Result};

/// A provider adapter. Stateless, `Send + Sync`; registered with [`crate::register_adapter!`].
#[async_trait::async_trait]
pub trait Adapter: Send + Sync + 'static {
    /// What the adapter is and does.
    fn descriptor(&self) -> &AdapterDescriptor;

    /// Verifies an inbound request's signature on its raw bytes, before anything is parsed.
    /// Constant-time comparison. `now_ms` is the current time, for timestamp tolerance checks.
    /// Adapters whose provider signs nothing return `Ok(())` and say so in the descriptor.
    fn verify(&self, request: &InboundRequest, secrets: &Secrets, now_ms: i64) -> Result<()>;

    /// Answers the provider's subscription handshake, if `request` is one (Oura `challenge`,
    /// Fitbit `verify`, ...): `None` when it is not a handshake, `Some(Err)` when it is one that
    /// must be refused (wrong verification token).
    fn handshake(
        &self,
        request: &InboundRequest,
        secrets: &Secrets,
    ) -> Option<Result<HandshakeResponse>> {
        let _ = (request, secrets);
        None
    }

    /// Parses a verified request into notifications. An empty list acknowledges a request that
    /// carries nothing to process (a health check).
    fn parse(&self, request: &InboundRequest) -> Result<Vec<Notification>>;

    /// Gets the raw records a notification refers to. All I/O of an adapter lives here. The default
    /// returns the records the notification already carries (push providers).
    async fn fetch(
        &self,
        notification: &Notification,
        ctx: &FetchContext,
    ) -> Result<Vec<RawRecord>> {
        let _ = ctx;
        Ok(notification.records.clone())
    }

    /// Turns one raw record into items and devices. Pure and synchronous: no I/O, no clock, no
    /// randomness; the same record and context always give the same output.
    fn normalize(&self, record: &RawRecord, ctx: &NormalizeContext) -> Result<Normalized>;
}

/// What an adapter is and does.
#[derive(Debug, Clone)]
pub struct AdapterDescriptor {
    /// Provider id, lowercase (`oura`): the `provider` of every envelope and the path segment of
    /// `POST /webhooks/{id}`.
    pub id: &'static str,
    /// Display name (`Oura`).
    pub display_name: &'static str,
    /// Every event type the adapter can emit.
    pub event_types: &'static [EventType],
    /// How data arrives.
    pub ingestion: Ingestion,
    /// The signature scheme of inbound requests, or `None` when the provider signs nothing.
    pub signature: Option<SignatureScheme>,
    /// The app secrets the adapter reads (`webhook_secret`, `verification_token`, ...).
    pub secrets: &'static [SecretSpec],
    /// Base URL of the provider API (`https://api.ouraring.com`), for fetching.
    pub api_base_url: Option<&'static str>,
    /// OAuth endpoints and scopes, for providers connected directly.
    pub oauth: Option<OAuthSpec>,
    /// The provider's published rate limit, if any.
    pub rate_limit: Option<RateLimit>,
    /// How long the provider waits for our answer to a webhook.
    pub ack_deadline: Option<Duration>,
}

/// How a provider delivers data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ingestion {
    /// Webhooks carry the full data.
    Push,
    /// Webhooks name what changed; the adapter fetches it.
    NotifyThenFetch,
    /// Nothing is pushed; data is polled.
    Poll,
}

/// A webhook signature scheme.
#[derive(Debug, Clone)]
pub struct SignatureScheme {
    /// Short name (`terra-signature`, `svix`, `hmac-sha256-hex`).
    pub name: &'static str,
    /// Headers that carry the signature (and its timestamp).
    pub headers: &'static [&'static str],
    /// Whether the scheme signs a timestamp, so stale requests can be refused.
    pub has_timestamp: bool,
    /// Default tolerance for the timestamp.
    pub default_tolerance: Option<Duration>,
}

/// An app secret an adapter reads.
#[derive(Debug, Clone)]
pub struct SecretSpec {
    /// Key in [`Secrets`] (`webhook_secret`).
    pub name: &'static str,
    /// What it is and where the operator finds it.
    pub description: &'static str,
    /// Whether the adapter cannot work without it.
    pub required: bool,
}

/// The app secret holding the OAuth client id, which the runtime sends with a token refresh.
pub const OAUTH_CLIENT_ID: &str = "client_id";
/// The app secret holding the OAuth client secret, which the runtime sends with a token refresh.
pub const OAUTH_CLIENT_SECRET: &str = "client_secret";

/// OAuth endpoints and scopes. The runtime refreshes a connection's expired access token at
/// `token_url` (`grant_type=refresh_token`) with the app secrets [`OAUTH_CLIENT_ID`] and
/// [`OAUTH_CLIENT_SECRET`], so an adapter with `oauth` should list both in its secrets.
#[derive(Debug, Clone)]
pub struct OAuthSpec {
    /// Authorization URL.
    pub authorize_url: &'static str,
    /// Token URL.
    pub token_url: &'static str,
    /// Scopes to request.
    pub scopes: &'static [&'static str],
}

/// A published rate limit: `requests` per `per`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    /// Requests allowed.
    pub requests: u32,
    /// In this period.
    pub per: Duration,
}

/// An inbound HTTP request exactly as received: the raw body is what signatures cover.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InboundRequest {
    /// `POST`, `GET`, `HEAD`.
    pub method: String,
    /// Path (`/webhooks/oura`).
    pub path: String,
    /// Raw query string without `?`, if any.
    pub query: Option<String>,
    /// Headers; names lowercase.
    pub headers: Vec<(String, String)>,
    /// Raw body bytes.
    #[serde(with = "bytes_as_base64")]
    pub body: Bytes,
}

impl InboundRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header named `name`, in order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter, percent-decoded (`+` as space).
    pub fn query_param(&self, name: &str) -> Option<String> {
        let q = self.query.as_deref()?;
        q.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (crate::http::percent_decode(k) == name).then(|| crate::http::percent_decode(v))
        })
    }
}

mod bytes_as_base64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD
            .decode(s.as_bytes())
            .map(Bytes::from)
            .map_err(serde::de::Error::custom)
    }
}

/// App secrets by name (`webhook_secret` -> value). `Debug` never prints values.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secrets(BTreeMap<String, String>);

impl Secrets {
    /// Empty.
    pub fn new() -> Secrets {
        Secrets::default()
    }

    /// Adds a secret.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Secrets {
        self.0.insert(name.to_owned(), value.into());
        self
    }

    /// Sets a secret.
    pub fn insert(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_owned(), value.into());
    }

    /// A secret by name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A secret that must be configured: a `Config` error naming the provider and secret if not.
    pub fn require(&self, provider: &str, name: &str) -> Result<&str> {
        self.get(name).ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("app secret `{name}` is not configured"),
            )
            .with_provider(provider)
            .with_field(name)
        })
    }

    /// Names of the secrets present.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

/// The answer to a subscription handshake.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HandshakeResponse {
    /// HTTP status.
    pub status: u16,
    /// Content type of the body.
    pub content_type: String,
    /// Body.
    pub body: String,
}

/// What a provider told us: who, what, which record or range. Push notifications carry their
/// records; notify-then-fetch notifications leave `records` empty for [`Adapter::fetch`].
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The provider's id of this notification (`terra-reference`, `svix-id`, ...).
    pub provider_notification_id: Option<String>,
    /// The provider's user id, used to find the connection.
    pub provider_user_id: Option<String>,
    /// The provider user id this user replaces, when the provider re-authenticated the same
    /// account under a new id (Terra `user_reauth`): the gateway moves the connection of the old
    /// id to `provider_user_id`, so the tenant's user mapping and the connection id carry over.
    pub previous_provider_user_id: Option<String>,
    /// The provider's event or data type (`sleep`, `daily.data.steps.created`).
    pub kind: String,
    /// What happened to the record.
    pub action: NotificationAction,
    /// The record the notification names, for fetching.
    pub record_id: Option<String>,
    /// The time range the notification covers, epoch ms.
    pub range: Option<(i64, i64)>,
    /// When the provider says the event happened, epoch ms.
    pub event_ts: Option<i64>,
    /// Records carried by the notification itself.
    pub records: Vec<RawRecord>,
}

/// What happened to the record a notification names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationAction {
    /// Created.
    Create,
    /// Updated.
    Update,
    /// Deleted.
    Delete,
    /// Unknown or not applicable.
    Other,
}

/// A raw provider record as received or fetched: the bytes are kept as-is (archived, replayable).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RawRecord {
    /// What the record is, in the adapter's terms (`sleep`, `terra:activity`); normalize dispatches
    /// on it.
    pub kind: String,
    /// The raw bytes.
    #[serde(with = "bytes_as_base64")]
    pub body: Bytes,
    /// The provider's user id, when the record names it.
    pub provider_user_id: Option<String>,
    /// The notification that led to this record.
    pub provider_notification_id: Option<String>,
    /// When the record was fetched or received, epoch ms.
    pub fetched_at: Option<i64>,
}

impl RawRecord {
    /// A record of `kind` with `body`, nothing else known.
    pub fn new(kind: impl Into<String>, body: impl Into<Bytes>) -> RawRecord {
        RawRecord {
            kind: kind.into(),
            body: body.into(),
            provider_user_id: None,
            provider_notification_id: None,
            fetched_at: None,
        }
    }
}

/// What [`Adapter::fetch`] may use: the shared HTTP client, the API base URL (overridden by the
/// testkit's loopback server), and the connection's credentials.
#[derive(Clone)]
pub struct FetchContext {
    /// The shared HTTP client.
    pub http: Arc<dyn HttpClient>,
    /// Base URL of the provider API, without a trailing slash.
    pub base_url: String,
    /// The connection's OAuth access token.
    pub access_token: Option<String>,
    /// The connection's provider user id.
    pub provider_user_id: Option<String>,
    /// The app secrets (some APIs take an API key).
    pub secrets: Secrets,
    /// The current time, epoch ms.
    pub now_ms: i64,
}

impl fmt::Debug for FetchContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchContext")
            .field("base_url", &self.base_url)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .field("provider_user_id", &self.provider_user_id)
            .field("now_ms", &self.now_ms)
            .finish_non_exhaustive()
    }
}

impl FetchContext {
    /// The access token, or an `Unauthorized` error naming the provider.
    pub fn require_token(&self, provider: &str) -> Result<&str> {
        self.access_token.as_deref().ok_or_else(|| {
            Error::new(
                ErrorKind::Unauthorized,
                "the connection has no access token",
            )
            .with_provider(provider)
        })
    }
}

/// What [`Adapter::normalize`] may use besides the record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizeContext {
    /// The connection's provider user id, for composing native ids when the record lacks it.
    pub provider_user_id: Option<String>,
}

/// The output of [`Adapter::normalize`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Normalized {
    /// The items, in a stable order.
    pub items: Vec<NormalizedItem>,
    /// The devices the items reference.
    pub devices: Vec<Device>,
}

impl Normalized {
    /// Adds an item without a provider version.
    pub fn push(&mut self, item: Item) {
        self.items.push(NormalizedItem {
            item,
            provider_version: None,
        });
    }

    /// Adds an item with the provider's modification time (for stale-update detection).
    pub fn push_versioned(&mut self, item: Item, provider_version: Option<i64>) {
        self.items.push(NormalizedItem {
            item,
            provider_version,
        });
    }

    /// Adds a device unless one with the same id is there.
    pub fn add_device(&mut self, device: Device) {
        if !self.devices.iter().any(|d| d.device_id == device.device_id) {
            self.devices.push(device);
        }
    }

    /// Appends another output.
    pub fn extend(&mut self, other: Normalized) {
        self.items.extend(other.items);
        for d in other.devices {
            self.add_device(d);
        }
    }
}

/// An item plus what the dedupe engine needs to know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedItem {
    /// The item (its `revision` is set by the dedupe engine).
    pub item: Item,
    /// The provider's modification time of the record, epoch ms, where it gives one: an incoming
    /// version older than the stored one is dropped.
    pub provider_version: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(query: Option<&str>) -> InboundRequest {
        InboundRequest {
            method: "GET".into(),
            path: "/webhooks/oura".into(),
            query: query.map(str::to_owned),
            headers: vec![("X-Oura-Signature".into(), "abc".into())],
            body: Bytes::from_static(b"\x00\xffhello"),
        }
    }

    #[test]
    fn headers_are_case_insensitive() {
        assert_eq!(req(None).header("x-oura-signature"), Some("abc"));
        assert_eq!(req(None).header("missing"), None);
    }

    #[test]
    fn query_params_are_decoded() {
        let r = req(Some("verification_token=a%20b&challenge=x+y&flag"));
        assert_eq!(r.query_param("verification_token").as_deref(), Some("a b"));
        assert_eq!(r.query_param("challenge").as_deref(), Some("x y"));
        assert_eq!(r.query_param("flag").as_deref(), Some(""));
        assert_eq!(r.query_param("nope"), None);
        assert_eq!(
            req(Some("a=%zz%4")).query_param("a").as_deref(),
            Some("%zz%4")
        );
        // A sign is not a hex digit: `%+1` and `%-1` stay as they are (`+` still means space).
        assert_eq!(
            req(Some("a=%+1%-1%41")).query_param("a").as_deref(),
            Some("% 1%-1A")
        );
    }

    #[test]
    fn requests_round_trip_with_binary_bodies() {
        let r = req(Some("a=1"));
        let json = serde_json::to_string(&r).unwrap();
        let back: InboundRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn secrets_never_print_values() {
        let s = Secrets::new().with("webhook_secret", "fake-secret-value");
        assert!(!format!("{s:?}").contains("fake-secret-value"));
        assert!(s.require("oura", "verification_token").is_err());
    }
}
