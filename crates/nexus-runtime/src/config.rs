//! The `nexus.toml` model. Every value has a default, so the gateway runs with no file at all;
//! every value can be overridden by an environment variable.
//!
//! Precedence: defaults < `nexus.toml` < environment.
//!
//! **Environment variables**: `NEXUS_` + the path of the key in the file, segments joined by `__`,
//! upper case: `listen` = `NEXUS_LISTEN`, `store_path` = `NEXUS_STORE_PATH`, `encryption_key` =
//! `NEXUS_ENCRYPTION_KEY`, `workers.ingest` = `NEXUS_WORKERS__INGEST`,
//! `providers.terra.webhook_secret` = `NEXUS_PROVIDERS__TERRA__WEBHOOK_SECRET`,
//! `tenants.acme.sinks.main.url` = `NEXUS_TENANTS__ACME__SINKS__MAIN__URL`. Segments are lower-cased,
//! so ids reachable from the environment are lower case (`[a-z0-9_]`). A value is read as the type
//! of the key it replaces (strings stay strings); a key with no default is read as a TOML value when
//! it parses as an integer, float, boolean or array, else as a string. `NEXUS_CONFIG` (the file's path)
//! and `NEXUS_LOG` (log filter) are not config keys.
//!
//! ```toml
//! listen = "0.0.0.0:8787"
//! data_dir = "/var/lib/nexus"
//! encryption_key = "base64 of 32 random bytes"   # `nexus` generates one if unset
//! auto_connect_tenant = "acme"                    # optional
//!
//! [workers]
//! ingest = 4
//!
//! [delivery]
//! schedule_secs = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
//!
//! [retention]
//! delivered_days = 7          # archive_days unset: raw records are kept for replay
//!
//! [server]
//! max_body_bytes = 10485760   # larger webhooks get 413
//! request_timeout_secs = 30
//!
//! [providers.terra]
//! webhook_secret = "fake-terra-signing-secret"
//! [providers.oura]
//! base_url = "http://127.0.0.1:9000"            # provider API override (tests, proxies)
//! client_secret = "fake-oura-client-secret"
//!
//! [tenants.acme.sinks.main]
//! kind = "webhook"
//! url = "https://acme.example/hooks/nexus"
//! secret = "whsec_..."
//! [tenants.acme.sinks.archive]
//! kind = "jsonl"
//! path = "/var/lib/nexus/acme.jsonl"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nexus_core::{Error, ErrorKind, Result, Secrets};
use serde::{Deserialize, Deserializer, Serialize};

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./nexus-data";
/// The tenant created when no tenant is configured.
pub const DEFAULT_TENANT: &str = "default";
/// The delivery retry schedule (seconds before attempt 1, 2, ...): immediately, 5 s, 5 min, 30 min,
/// 2 h, 5 h, 10 h, 10 h; about 27.6 h in all, each delay with +-20 % jitter.
pub const DEFAULT_SCHEDULE_SECS: [u64; 8] = [0, 5, 300, 1800, 7200, 18000, 36000, 36000];

/// `NEXUS_*` environment variables that are not config keys: the config file path, the log filter,
/// and the Python interpreter of the test oracles (`cargo xtask test` exports it to every test,
/// including those that start the gateway).
const RESERVED_ENV: &[&str] = &["CONFIG", "LOG", "PYTHON"];

/// The whole configuration.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the server listens on.
    pub listen: String,
    /// Directory for the store, the generated key and the default jsonl file.
    pub data_dir: PathBuf,
    /// The SQLite file; default `<data_dir>/nexus.db`.
    pub store_path: Option<PathBuf>,
    /// Key encrypting connection tokens at rest (32 bytes, base64 or hex). When unset, a key is
    /// generated once and kept in `<data_dir>/encryption.key` (the log says so).
    pub encryption_key: Option<String>,
    /// Provider users with no connection get one in this tenant (user id and external ref = the
    /// provider user id). Unset: their requests are quarantined until a connection exists.
    /// Defaults to `default` when no tenant is configured.
    pub auto_connect_tenant: Option<String>,
    /// Worker counts and leases.
    pub workers: WorkersConfig,
    /// Delivery retries and batching.
    pub delivery: DeliveryConfig,
    /// How long delivered envelopes and archived records are kept.
    pub retention: RetentionConfig,
    /// The webhook ingress: body limit and request timeout.
    pub server: ServerConfig,
    /// Per provider: app secrets and API base URL override.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Tenants by id, each with its sinks.
    pub tenants: BTreeMap<String, TenantConfig>,
}

/// Worker counts and leases.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WorkersConfig {
    /// Concurrent inbox workers (parse, fetch, normalize, dedupe).
    pub ingest: usize,
    /// Concurrent dispatchers per sink.
    pub delivery: usize,
    /// Inbox lease, seconds: a worker that dies is replaced after this.
    pub inbox_lease_secs: u64,
    /// Delivery lease, seconds (at least twice a sink's timeout).
    pub delivery_lease_secs: u64,
    /// Idle poll interval, ms (new work also wakes workers at once).
    pub poll_interval_ms: u64,
    /// Retryable processing failures before a request is quarantined.
    pub max_inbox_attempts: u32,
}

impl Default for WorkersConfig {
    fn default() -> Self {
        WorkersConfig {
            ingest: 2,
            delivery: 1,
            inbox_lease_secs: 120,
            delivery_lease_secs: 90,
            poll_interval_ms: 500,
            max_inbox_attempts: 20,
        }
    }
}

/// Delivery retries and batching.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Delay before each attempt, seconds; its length is the number of attempts.
    pub schedule_secs: Vec<u64>,
    /// Jitter, a fraction of each delay (0.2 = +-20 %).
    pub jitter: f64,
    /// Minimum delay after a throttling answer (429) without `Retry-After`, seconds.
    pub throttle_floor_secs: u64,
    /// Longest `Retry-After` honoured, seconds.
    pub max_retry_after_secs: u64,
    /// Deliveries per batch handed to a sink.
    pub batch_size: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            schedule_secs: DEFAULT_SCHEDULE_SECS.to_vec(),
            jitter: 0.2,
            throttle_floor_secs: 60,
            max_retry_after_secs: 6 * 3600,
            batch_size: 50,
        }
    }
}

/// The webhook ingress (`nexus serve`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Largest accepted webhook body, bytes; a larger one is answered 413 and not stored.
    pub max_body_bytes: usize,
    /// Longest a webhook request may take from its first byte to our answer, seconds; a client
    /// that sends its body slower is answered 408 and nothing is stored.
    pub request_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 10 * 1024 * 1024,
            request_timeout_secs: 30,
        }
    }
}

/// Retention, applied hourly by the runtime.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Delivered outbox rows (and their attempts) are deleted this many days after delivery.
    /// Pending and failed deliveries are never deleted.
    pub delivered_days: u64,
    /// Archived raw records older than this many days are deleted; unset keeps them (they are
    /// what `nexus replay archive` re-derives items from).
    pub archive_days: Option<u64>,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            delivered_days: 7,
            archive_days: None,
        }
    }
}

/// One provider's settings.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ProviderConfig {
    /// Provider API base URL, overriding the adapter's.
    pub base_url: Option<String>,
    /// OAuth token URL, overriding the adapter's (for refreshing access tokens).
    pub token_url: Option<String>,
    /// Every other key is an app secret (`webhook_secret`, `client_secret`, ...).
    #[serde(flatten, deserialize_with = "scalar_strings")]
    pub secrets: BTreeMap<String, String>,
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("base_url", &self.base_url)
            .field("token_url", &self.token_url)
            .field(
                "secrets",
                &self
                    .secrets
                    .keys()
                    .map(|k| (k.as_str(), "<redacted>"))
                    .collect::<BTreeMap<_, _>>(),
            )
            .finish()
    }
}

impl ProviderConfig {
    /// The app secrets as the adapter API wants them.
    pub fn secrets(&self) -> Secrets {
        let mut s = Secrets::new();
        for (k, v) in &self.secrets {
            s.insert(k, v.clone());
        }
        s
    }
}

/// One tenant.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TenantConfig {
    /// Display name.
    pub name: Option<String>,
    /// Sinks by name.
    pub sinks: BTreeMap<String, SinkConfig>,
}

/// One sink: its kind and the kind's own options (passed to the sink factory as JSON, `kind`
/// included).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct SinkConfig {
    /// Registered sink kind (`webhook`, `jsonl`, `stdout`).
    pub kind: String,
    /// The kind's options.
    #[serde(flatten)]
    pub options: serde_json::Map<String, serde_json::Value>,
}

impl SinkConfig {
    /// The table as JSON, as [`nexus_core::SinkFactory::build`] takes it.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = self.options.clone();
        m.insert("kind".into(), serde_json::Value::String(self.kind.clone()));
        serde_json::Value::Object(m)
    }
}

/// Option names whose values are never printed.
fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "secret",
        "token",
        "password",
        "key",
        "authorization",
        "credential",
    ]
    .iter()
    .any(|s| n.contains(s))
}

impl fmt::Debug for SinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opts: BTreeMap<&str, String> = self
            .options
            .iter()
            .map(|(k, v)| {
                let shown = if is_secret_name(k) {
                    "<redacted>".to_owned()
                } else {
                    v.to_string()
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("SinkConfig")
            .field("kind", &self.kind)
            .field("options", &opts)
            .finish()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("store_path", &self.store_path)
            .field(
                "encryption_key",
                &self.encryption_key.as_ref().map(|_| "<redacted>"),
            )
            .field("auto_connect_tenant", &self.auto_connect_tenant)
            .field("workers", &self.workers)
            .field("delivery", &self.delivery)
            .field("retention", &self.retention)
            .field("server", &self.server)
            .field("providers", &self.providers)
            .field("tenants", &self.tenants)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.to_owned(),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            store_path: None,
            encryption_key: None,
            auto_connect_tenant: None,
            workers: WorkersConfig::default(),
            delivery: DeliveryConfig::default(),
            retention: RetentionConfig::default(),
            server: ServerConfig::default(),
            providers: BTreeMap::new(),
            tenants: BTreeMap::new(),
        }
    }
}

fn scalar_strings<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    use serde::de::Error as _;
    let raw = BTreeMap::<String, toml::Value>::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            let s = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(x) => x.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => {
                    return Err(D::Error::custom(format!(
                        "provider secret `{k}` must be a string"
                    )));
                }
            };
            Ok((k, s))
        })
        .collect()
}

/// How serious a problem [`Config::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Works, but probably not as intended.
    Warning,
    /// Will not work.
    Error,
}

/// A problem in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// How serious.
    pub severity: Severity,
    /// The key (`tenants.acme.sinks.main.kind`).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn config_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Config, message)
}

impl Config {
    /// Loads `path` (if given and present; a given path that is missing is an error), then the
    /// process environment, then fills defaults (the default tenant and its jsonl sink).
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let text = match path {
            Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
                config_error(format!("could not read {}", p.display())).with_source(e)
            })?),
            None => None,
        };
        Config::from_sources(text.as_deref(), std::env::vars())
    }

    /// Builds a config from TOML text (or none) and environment variables.
    pub fn from_sources(
        toml_text: Option<&str>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config> {
        let mut tree = toml::Table::try_from(Config::default()).map_err(|e| {
            Error::new(ErrorKind::Internal, "could not serialize defaults").with_source(e)
        })?;
        if let Some(text) = toml_text {
            let file: toml::Table = toml::from_str(text)
                .map_err(|e| config_error("nexus.toml is not valid TOML").with_source(e))?;
            merge(&mut tree, file);
        }
        let mut vars: Vec<(String, String)> = env
            .into_iter()
            .filter_map(|(k, v)| k.strip_prefix("NEXUS_").map(|k| (k.to_owned(), v)))
            .filter(|(k, _)| !RESERVED_ENV.contains(&k.as_str()))
            .collect();
        vars.sort();
        for (key, value) in vars {
            let path: Vec<String> = key.split("__").map(str::to_ascii_lowercase).collect();
            if path.iter().any(String::is_empty) {
                return Err(config_error(format!(
                    "environment variable NEXUS_{key} has an empty path segment"
                )));
            }
            set_path(&mut tree, &path, &value)?;
        }
        let mut config: Config = toml::Value::Table(tree)
            .try_into()
            .map_err(|e| config_error("invalid configuration").with_source(e))?;
        config.fill_defaults();
        Ok(config)
    }

    fn fill_defaults(&mut self) {
        if self.tenants.is_empty() {
            let mut sinks = BTreeMap::new();
            let mut options = serde_json::Map::new();
            options.insert(
                "path".into(),
                serde_json::Value::String(
                    self.data_dir
                        .join("envelopes.jsonl")
                        .to_string_lossy()
                        .into_owned(),
                ),
            );
            sinks.insert(
                "jsonl".to_owned(),
                SinkConfig {
                    kind: "jsonl".into(),
                    options,
                },
            );
            self.tenants.insert(
                DEFAULT_TENANT.to_owned(),
                TenantConfig {
                    name: Some("Default tenant".into()),
                    sinks,
                },
            );
            if self.auto_connect_tenant.is_none() {
                self.auto_connect_tenant = Some(DEFAULT_TENANT.to_owned());
            }
        }
    }

    /// The SQLite file.
    pub fn store_path(&self) -> PathBuf {
        self.store_path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("nexus.db"))
    }

    /// Where a generated encryption key is kept.
    pub fn key_path(&self) -> PathBuf {
        self.data_dir.join("encryption.key")
    }

    /// A provider's app secrets (empty when unconfigured).
    pub fn secrets(&self, provider: &str) -> Secrets {
        self.providers
            .get(provider)
            .map(ProviderConfig::secrets)
            .unwrap_or_default()
    }

    /// A provider's API base URL override.
    pub fn base_url(&self, provider: &str) -> Option<&str> {
        self.providers
            .get(provider)
            .and_then(|p| p.base_url.as_deref())
    }

    /// A provider's OAuth token URL override.
    pub fn token_url(&self, provider: &str) -> Option<&str> {
        self.providers
            .get(provider)
            .and_then(|p| p.token_url.as_deref())
    }

    /// The listen address, parsed.
    pub fn listen_addr(&self) -> Result<SocketAddr> {
        self.listen.parse().map_err(|_| {
            config_error(format!(
                "listen must be an address like 127.0.0.1:8787, got {:?}",
                self.listen
            ))
            .with_field("listen")
        })
    }

    /// The retry delays.
    pub fn schedule(&self) -> Vec<Duration> {
        self.delivery
            .schedule_secs
            .iter()
            .map(|s| Duration::from_secs(*s))
            .collect()
    }

    /// Every problem found: values that cannot work (errors) and likely mistakes (warnings). Sink
    /// kinds and providers are checked against what is registered in this binary.
    pub fn check(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut push = |severity, key: &str, message: String| {
            out.push(Problem {
                severity,
                key: key.to_owned(),
                message,
            });
        };
        if let Err(e) = self.listen_addr() {
            push(Severity::Error, "listen", e.message().to_owned());
        }
        if let Some(k) = &self.encryption_key {
            if let Err(e) = crate::crypto::decode_key(k) {
                push(Severity::Error, "encryption_key", e.message().to_owned());
            }
        } else {
            push(
                Severity::Warning,
                "encryption_key",
                format!(
                    "not set: a key is generated and kept in {}; back it up, tokens cannot be read without it",
                    self.key_path().display()
                ),
            );
        }
        // Counts and sizes that must not be zero.
        for (field, zero) in [
            ("server.max_body_bytes", self.server.max_body_bytes == 0),
            (
                "server.request_timeout_secs",
                self.server.request_timeout_secs == 0,
            ),
            ("workers.ingest", self.workers.ingest == 0),
            ("workers.delivery", self.workers.delivery == 0),
            ("delivery.batch_size", self.delivery.batch_size == 0),
        ] {
            if zero {
                push(Severity::Error, field, "must be at least 1".into());
            }
        }
        if self.delivery.schedule_secs.is_empty() {
            push(
                Severity::Error,
                "delivery.schedule_secs",
                "needs at least one attempt".into(),
            );
        }
        if !(0.0..1.0).contains(&self.delivery.jitter) {
            push(
                Severity::Error,
                "delivery.jitter",
                "must be in [0, 1)".into(),
            );
        }
        if let Some(t) = &self.auto_connect_tenant
            && !self.tenants.contains_key(t)
        {
            push(
                Severity::Error,
                "auto_connect_tenant",
                format!("names tenant {t:?}, which is not configured"),
            );
        }
        for (id, p) in &self.providers {
            let key = format!("providers.{id}");
            match nexus_core::registry::adapter(id) {
                None => push(
                    Severity::Warning,
                    &key,
                    format!("no adapter {id:?} is registered in this binary"),
                ),
                Some(adapter) => {
                    for spec in adapter.descriptor().secrets {
                        if spec.required && !p.secrets.contains_key(spec.name) {
                            push(
                                Severity::Error,
                                &format!("{key}.{}", spec.name),
                                format!("required secret missing: {}", spec.description),
                            );
                        }
                    }
                    if adapter.descriptor().oauth.is_some() {
                        for name in [
                            nexus_core::adapter::OAUTH_CLIENT_ID,
                            nexus_core::adapter::OAUTH_CLIENT_SECRET,
                        ] {
                            if !p.secrets.contains_key(name) {
                                push(
                                    Severity::Warning,
                                    &format!("{key}.{name}"),
                                    "not set: users' access tokens cannot be refreshed when they expire".into(),
                                );
                            }
                        }
                    }
                }
            }
            for (name, url) in [("base_url", &p.base_url), ("token_url", &p.token_url)] {
                if let Some(url) = url
                    && !(url.starts_with("http://") || url.starts_with("https://"))
                {
                    push(
                        Severity::Error,
                        &format!("{key}.{name}"),
                        format!("must be an http(s) URL, got {url:?}"),
                    );
                }
            }
        }
        for adapter in nexus_core::registry::adapters() {
            let id = adapter.descriptor().id;
            let needs = adapter.descriptor().secrets.iter().any(|s| s.required);
            if needs && !self.providers.contains_key(id) {
                push(
                    Severity::Warning,
                    &format!("providers.{id}"),
                    "not configured: its webhooks will be refused".into(),
                );
            }
        }
        for (tid, t) in &self.tenants {
            if t.sinks.is_empty() {
                push(
                    Severity::Warning,
                    &format!("tenants.{tid}.sinks"),
                    "no sinks: this tenant's envelopes stay in the outbox".into(),
                );
            }
            for (sid, s) in &t.sinks {
                let key = format!("tenants.{tid}.sinks.{sid}");
                match nexus_core::registry::sink(&s.kind) {
                    None => push(
                        Severity::Error,
                        &format!("{key}.kind"),
                        format!("no sink kind {:?} is registered in this binary", s.kind),
                    ),
                    Some(f) => {
                        if let Err(e) = (f.build)(&s.to_json()) {
                            push(Severity::Error, &key, e.to_string());
                        }
                    }
                }
            }
        }
        out
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn set_path(tree: &mut toml::Table, path: &[String], raw: &str) -> Result<()> {
    let Some((last, parents)) = path.split_last() else {
        return Ok(());
    };
    let mut node = tree;
    for seg in parents {
        let entry = node
            .entry(seg.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        node = match entry {
            toml::Value::Table(t) => t,
            _ => {
                return Err(config_error(format!(
                    "environment variable for `{}` goes through `{seg}`, which is not a table",
                    path.join(".")
                )));
            }
        };
    }
    let value = match node.get(last) {
        Some(toml::Value::String(_)) => toml::Value::String(raw.to_owned()),
        Some(_) => parse_toml_value(raw).ok_or_else(|| {
            config_error(format!(
                "environment value for `{}` is not a valid value: {raw:?}",
                path.join(".")
            ))
        })?,
        None => match parse_toml_value(raw) {
            Some(
                v @ (toml::Value::Integer(_)
                | toml::Value::Float(_)
                | toml::Value::Boolean(_)
                | toml::Value::Array(_)),
            ) => v,
            _ => toml::Value::String(raw.to_owned()),
        },
    };
    node.insert(last.clone(), value);
    Ok(())
}

fn parse_toml_value(raw: &str) -> Option<toml::Value> {
    let t: toml::Table = toml::from_str(&format!("v = {raw}")).ok()?;
    t.get("v").cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn no_config_at_all_gives_a_working_default() {
        let c = Config::from_sources(None, env(&[])).unwrap();
        assert_eq!(c.listen, DEFAULT_LISTEN);
        assert_eq!(c.store_path(), PathBuf::from("./nexus-data/nexus.db"));
        let t = &c.tenants[DEFAULT_TENANT];
        assert_eq!(t.sinks["jsonl"].kind, "jsonl");
        assert_eq!(
            t.sinks["jsonl"].options["path"],
            serde_json::json!("./nexus-data/envelopes.jsonl")
        );
        assert_eq!(c.auto_connect_tenant.as_deref(), Some(DEFAULT_TENANT));
        assert_eq!(c.schedule().len(), 8);
    }

    #[test]
    fn file_then_env_override() {
        let text = r#"
            listen = "0.0.0.0:9000"
            encryption_key = "fake-not-a-key"
            [workers]
            ingest = 3
            [providers.terra]
            webhook_secret = "fake-terra-secret"
            [tenants.acme.sinks.main]
            kind = "webhook"
            url = "https://acme.example/hook"
            secret = "whsec_fake"
        "#;
        let c = Config::from_sources(
            Some(text),
            env(&[
                ("NEXUS_LISTEN", "127.0.0.1:1234"),
                ("NEXUS_WORKERS__INGEST", "7"),
                ("NEXUS_PROVIDERS__TERRA__WEBHOOK_SECRET", "fake-from-env"),
                ("NEXUS_PROVIDERS__OURA__CLIENT_SECRET", "12345"),
                ("NEXUS_PROVIDERS__OURA__BASE_URL", "http://127.0.0.1:9"),
                (
                    "NEXUS_TENANTS__ACME__SINKS__MAIN__URL",
                    "https://acme.example/other",
                ),
                ("NEXUS_DELIVERY__SCHEDULE_SECS", "[0, 1, 2]"),
                ("NEXUS_SERVER__MAX_BODY_BYTES", "65536"),
                ("NEXUS_CONFIG", "/ignored.toml"),
                ("HOME", "/root"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:1234");
        assert_eq!(c.workers.ingest, 7);
        assert_eq!(c.server.max_body_bytes, 65536);
        assert_eq!(c.server.request_timeout_secs, 30);
        assert_eq!(
            c.secrets("terra").get("webhook_secret"),
            Some("fake-from-env")
        );
        assert_eq!(c.secrets("oura").get("client_secret"), Some("12345"));
        assert_eq!(c.base_url("oura"), Some("http://127.0.0.1:9"));
        assert_eq!(
            c.tenants["acme"].sinks["main"].options["url"],
            serde_json::json!("https://acme.example/other")
        );
        assert_eq!(c.delivery.schedule_secs, vec![0, 1, 2]);
        // A configured tenant replaces the default one; no auto-connect unless asked.
        assert!(!c.tenants.contains_key(DEFAULT_TENANT));
        assert_eq!(c.auto_connect_tenant, None);
        // A string key keeps a numeric-looking env value as a string.
        let c2 = Config::from_sources(None, env(&[("NEXUS_LISTEN", "8080")])).unwrap();
        assert_eq!(c2.listen, "8080");
        assert!(
            c2.check()
                .iter()
                .any(|p| p.key == "listen" && p.severity == Severity::Error)
        );
    }

    #[test]
    fn debug_redacts_secrets() {
        let text = r#"
            encryption_key = "fake-encryption-key-value"
            [providers.terra]
            webhook_secret = "fake-terra-secret-value"
            [tenants.acme.sinks.main]
            kind = "webhook"
            url = "https://acme.example/hook"
            secret = "whsec_fake-sink-secret-value"
        "#;
        let c = Config::from_sources(Some(text), env(&[])).unwrap();
        let dbg = format!("{c:?}");
        for s in ["fake-encryption", "fake-terra-secret", "fake-sink-secret"] {
            assert!(!dbg.contains(s), "{s} leaked in {dbg}");
        }
        assert!(dbg.contains("acme.example"));
        assert!(dbg.contains("webhook_secret"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(Config::from_sources(Some("lisen = \"x\""), env(&[])).is_err());
        assert!(Config::from_sources(None, env(&[("NEXUS_WORKERS__INGEST", "many")])).is_err());
        assert!(Config::from_sources(None, env(&[("NEXUS_LISTEN__X", "1")])).is_err());
        let c = Config::from_sources(
            Some(
                r#"
                encryption_key = "short"
                auto_connect_tenant = "ghost"
                [workers]
                ingest = 0
                [tenants.a.sinks.s]
                kind = "no-such-kind"
                [providers.p]
                base_url = "ftp://x"
            "#,
            ),
            env(&[]),
        )
        .unwrap();
        let keys: Vec<String> = c
            .check()
            .into_iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| p.key)
            .collect();
        for k in [
            "encryption_key",
            "auto_connect_tenant",
            "workers.ingest",
            "tenants.a.sinks.s.kind",
            "providers.p.base_url",
        ] {
            assert!(keys.iter().any(|x| x == k), "{k} not reported in {keys:?}");
        }
    }
}
