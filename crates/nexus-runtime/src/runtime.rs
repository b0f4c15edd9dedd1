//! [`Runtime`]: the handle the server and the CLI hold. It owns the store, the adapters, the sinks
//! and the token cipher, starts the ingest workers and the delivery dispatchers on tokio, and
//! exposes what the ingress needs: [`Runtime::ingest`] (handshake, verify, enqueue) or the pieces
//! ([`Runtime::adapter`], [`Runtime::secrets`], [`Runtime::enqueue`]), readiness and metrics.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nexus_core::http::HttpClient;
use nexus_core::{
    Adapter, Error, ErrorKind, HandshakeResponse, InboundRequest, Result, Secrets, Sink,
};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::crypto::{TokenCipher, Tokens};
use crate::metrics::Metrics;
use crate::ratelimit::RateGate;
use crate::retry::RetryPolicy;
use crate::store::{
    ConnectionRecord, ConnectionStatus, Millis, NewInboxEntry, SinkRef, Store, Tenant,
};

/// The current time, epoch ms.
pub fn now_ms() -> Millis {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Where the encryption key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `encryption_key` / `NEXUS_ENCRYPTION_KEY`.
    Configured,
    /// Read from `<data_dir>/encryption.key`, generated earlier.
    KeyFile,
    /// Generated now and written to `<data_dir>/encryption.key`.
    Generated,
}

/// The token cipher for `config`: the configured key, else the key file under `data_dir`, else a
/// new random key written there (mode 0600). Logs which one, never the key.
pub fn resolve_cipher(config: &Config) -> Result<(TokenCipher, KeyOrigin)> {
    if let Some(k) = &config.encryption_key {
        return Ok((TokenCipher::from_encoded(k)?, KeyOrigin::Configured));
    }
    let path = config.key_path();
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::new(ErrorKind::Config, format!("cannot read {}", path.display())).with_source(e)
        })?;
        tracing::info!(path = %path.display(), "using the encryption key kept in the data directory");
        return Ok((TokenCipher::from_encoded(&text)?, KeyOrigin::KeyFile));
    }
    let key = TokenCipher::generate_key();
    write_private(&path, &key)?;
    tracing::warn!(
        path = %path.display(),
        "no encryption_key configured: generated one and wrote it to the data directory; back it up \
         or set NEXUS_ENCRYPTION_KEY, connection tokens cannot be decrypted without it"
    );
    Ok((TokenCipher::from_encoded(&key)?, KeyOrigin::Generated))
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write as _;
    let err = |e: std::io::Error| {
        Error::new(
            ErrorKind::Config,
            format!("cannot write {}", path.display()),
        )
        .with_source(e)
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(contents.as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)
}

/// A connection to create or update through [`Runtime::connect`] (tokens in clear; the runtime
/// encrypts them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConnection {
    /// The tenant.
    pub tenant_id: String,
    /// The user inside the tenant.
    pub user_id: String,
    /// The tenant's own reference for the user.
    pub external_user_ref: String,
    /// Provider id.
    pub provider: String,
    /// The provider's user id.
    pub provider_user_id: String,
    /// OAuth tokens, if the provider is called directly.
    pub tokens: Option<Tokens>,
}

/// What the ingress should answer.
#[derive(Debug)]
pub enum IngestOutcome {
    /// A subscription handshake: answer with this.
    Handshake(HandshakeResponse),
    /// Verified and durably stored (inbox id): answer 2xx.
    Accepted(String),
}

/// Readiness of the gateway.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Readiness {
    /// True when the store answers and every worker and dispatcher is running.
    pub ready: bool,
    /// What is wrong, if anything.
    pub problems: Vec<String>,
}

/// Builds a [`Runtime`].
pub struct RuntimeBuilder {
    config: Config,
    store: Arc<dyn Store>,
    adapters: Option<Vec<&'static dyn Adapter>>,
    http: Option<Arc<dyn HttpClient>>,
    sinks: BTreeMap<SinkRef, Arc<dyn Sink>>,
    cipher: Option<TokenCipher>,
    policy: Option<RetryPolicy>,
    processing_backoff: Option<fn(u32, Option<Duration>) -> Duration>,
}

impl RuntimeBuilder {
    /// Uses these adapters instead of every registered one (tests, embedders).
    pub fn adapters(mut self, adapters: Vec<&'static dyn Adapter>) -> Self {
        self.adapters = Some(adapters);
        self
    }

    /// Uses this HTTP client for fetches instead of a new `nexus_http::ReqwestClient`.
    pub fn http(mut self, http: Arc<dyn HttpClient>) -> Self {
        self.http = Some(http);
        self
    }

    /// Uses this sink for `tenant`'s sink `name` instead of building it from the config. The sink
    /// must also be named in the config's tenant (so the outbox fans out to it) or is added.
    pub fn sink(mut self, tenant: &str, name: &str, sink: Arc<dyn Sink>) -> Self {
        self.sinks.insert(
            SinkRef {
                tenant_id: tenant.to_owned(),
                sink_id: name.to_owned(),
            },
            sink,
        );
        self
    }

    /// Uses this cipher instead of resolving the configured key.
    pub fn cipher(mut self, cipher: TokenCipher) -> Self {
        self.cipher = Some(cipher);
        self
    }

    /// Uses this delivery retry policy instead of the configured one.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Uses this backoff for retryable processing failures (tests use short ones).
    pub fn processing_backoff(mut self, f: fn(u32, Option<Duration>) -> Duration) -> Self {
        self.processing_backoff = Some(f);
        self
    }

    /// Builds the runtime: resolves the key, builds the sinks, stores the tenants. Starts nothing.
    pub async fn build(self) -> Result<Runtime> {
        let config = self.config;
        let cipher = match self.cipher {
            Some(c) => c,
            None => resolve_cipher(&config)?.0,
        };
        let adapters: BTreeMap<String, &'static dyn Adapter> = self
            .adapters
            .unwrap_or_else(nexus_core::registry::adapters)
            .into_iter()
            .map(|a| (a.descriptor().id.to_owned(), a))
            .collect();
        let http: Arc<dyn HttpClient> = match self.http {
            Some(h) => h,
            None => Arc::new(nexus_http::ReqwestClient::new()?),
        };
        let mut sinks = self.sinks;
        let mut tenant_sinks: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (tid, t) in &config.tenants {
            let names = tenant_sinks.entry(tid.clone()).or_default();
            for (sid, s) in &t.sinks {
                let r = SinkRef {
                    tenant_id: tid.clone(),
                    sink_id: sid.clone(),
                };
                names.push(sid.clone());
                if sinks.contains_key(&r) {
                    continue;
                }
                let factory = nexus_core::registry::sink(&s.kind).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Config,
                        format!("sink kind {:?} is not registered in this binary", s.kind),
                    )
                    .with_field(format!("tenants.{tid}.sinks.{sid}.kind"))
                })?;
                let sink = (factory.build)(&s.to_json())
                    .map_err(|e| e.with_field(format!("tenants.{tid}.sinks.{sid}")))?;
                sinks.insert(r, Arc::from(sink));
            }
        }
        for r in sinks.keys() {
            let names = tenant_sinks.entry(r.tenant_id.clone()).or_default();
            if !names.contains(&r.sink_id) {
                names.push(r.sink_id.clone());
            }
        }
        let now = now_ms();
        for tid in tenant_sinks.keys() {
            self.store
                .upsert_tenant(&Tenant {
                    id: tid.clone(),
                    name: config.tenants.get(tid).and_then(|t| t.name.clone()),
                    created_at: now,
                })
                .await?;
        }
        let policy = self
            .policy
            .unwrap_or_else(|| RetryPolicy::from_config(&config.delivery));
        let (shutdown_tx, _) = watch::channel(false);
        Ok(Runtime {
            inner: Arc::new(Inner {
                config,
                store: self.store,
                cipher,
                adapters,
                http,
                sinks,
                tenant_sinks,
                metrics: Arc::new(Metrics::new()),
                policy,
                processing_backoff: self
                    .processing_backoff
                    .unwrap_or(crate::retry::processing_backoff),
                gates: Mutex::new(HashMap::new()),
                refresh_locks: crate::oauth::RefreshLocks::default(),
                inbox_wake: Notify::new(),
                outbox_wake: Notify::new(),
                shutdown: shutdown_tx,
                tasks: Mutex::new(Vec::new()),
            }),
        })
    }
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) cipher: TokenCipher,
    pub(crate) adapters: BTreeMap<String, &'static dyn Adapter>,
    pub(crate) http: Arc<dyn HttpClient>,
    pub(crate) sinks: BTreeMap<SinkRef, Arc<dyn Sink>>,
    pub(crate) tenant_sinks: BTreeMap<String, Vec<String>>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) policy: RetryPolicy,
    pub(crate) processing_backoff: fn(u32, Option<Duration>) -> Duration,
    gates: Mutex<HashMap<String, Arc<RateGate>>>,
    pub(crate) refresh_locks: crate::oauth::RefreshLocks,
    pub(crate) inbox_wake: Notify,
    pub(crate) outbox_wake: Notify,
    pub(crate) shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<(String, JoinHandle<()>)>>,
}

impl Inner {
    /// The decrypted tokens of `connection` (`None`: it has none).
    pub(crate) fn tokens_of(&self, connection: &ConnectionRecord) -> Result<Option<Tokens>> {
        connection
            .sealed_tokens
            .as_deref()
            .map(|s| self.cipher.open(s))
            .transpose()
    }

    pub(crate) fn gate(&self, provider: &str) -> Arc<RateGate> {
        // Poisoning only follows a panic elsewhere; the map stays valid.
        let mut g = self
            .gates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g.entry(provider.to_owned())
            .or_insert_with(|| {
                let limit = self
                    .adapters
                    .get(provider)
                    .and_then(|a| a.descriptor().rate_limit);
                Arc::new(RateGate::new(limit))
            })
            .clone()
    }

    pub(crate) fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.config.workers.poll_interval_ms.max(1))
    }
}

/// The running gateway. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("store", &self.inner.store.backend())
            .field("adapters", &self.inner.adapters.keys().collect::<Vec<_>>())
            .field("sinks", &self.inner.sinks.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A builder over `config` and `store`.
    pub fn builder(config: Config, store: Arc<dyn Store>) -> RuntimeBuilder {
        RuntimeBuilder {
            config,
            store,
            adapters: None,
            http: None,
            sinks: BTreeMap::new(),
            cipher: None,
            policy: None,
            processing_backoff: None,
        }
    }

    /// Builds with defaults and starts the workers and dispatchers.
    pub async fn start(config: Config, store: Arc<dyn Store>) -> Result<Runtime> {
        let rt = Runtime::builder(config, store).build().await?;
        rt.spawn_workers();
        Ok(rt)
    }

    /// Starts `workers.ingest` inbox workers and `workers.delivery` dispatchers per sink. Call once.
    pub fn spawn_workers(&self) {
        let mut tasks = Vec::new();
        let mut shards = Vec::new();
        for n in 0..self.inner.config.workers.ingest.max(1) {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            shards.push(tx);
            let inner = self.inner.clone();
            tasks.push((
                format!("ingest-{n}"),
                tokio::spawn(async move { crate::pipeline::worker_loop(inner, rx).await }),
            ));
        }
        let inner = self.inner.clone();
        tasks.push((
            "retention".to_owned(),
            tokio::spawn(async move { retention_loop(inner).await }),
        ));
        let inner = self.inner.clone();
        tasks.push((
            "inbox-claimer".to_owned(),
            tokio::spawn(async move { crate::pipeline::claimer_loop(inner, shards).await }),
        ));
        for sink in self.inner.sinks.keys() {
            for n in 0..self.inner.config.workers.delivery.max(1) {
                let name = format!("deliver-{sink}-{n}");
                let inner = self.inner.clone();
                let sink = sink.clone();
                tasks.push((
                    name,
                    tokio::spawn(
                        async move { crate::dispatch::dispatcher_loop(inner, sink).await },
                    ),
                ));
            }
        }
        let mut t = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        t.extend(tasks);
    }

    /// Stops the workers and dispatchers after their current item and waits for them.
    pub async fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
        self.inner.inbox_wake.notify_waiters();
        self.inner.outbox_wake.notify_waiters();
        let tasks: Vec<_> = {
            let mut t = self
                .inner
                .tasks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            t.drain(..).collect()
        };
        for (_, h) in tasks {
            let _ = h.await;
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The metrics (the ingress counts received/rejected webhooks here).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Prometheus text of the metrics and the current queue depths.
    pub async fn render_metrics(&self) -> Result<String> {
        let depths = self.inner.store.depths(now_ms()).await?;
        let writes = self.inner.store.write_stats();
        Ok(self.inner.metrics.render(&depths, writes.as_ref()))
    }

    /// The adapter for `provider`, if this runtime has it.
    pub fn adapter(&self, provider: &str) -> Option<&'static dyn Adapter> {
        self.inner.adapters.get(provider).copied()
    }

    /// Every adapter, by id.
    pub fn adapters(&self) -> Vec<&'static dyn Adapter> {
        self.inner.adapters.values().copied().collect()
    }

    /// The configured app secrets of `provider`.
    pub fn secrets(&self, provider: &str) -> Secrets {
        self.inner.config.secrets(provider)
    }

    /// The sinks, by tenant and name.
    pub fn sinks(&self) -> Vec<SinkRef> {
        self.inner.sinks.keys().cloned().collect()
    }

    /// Stores a request that the caller has verified; returns its inbox id once durable and wakes
    /// a worker. Counts `webhooks_verified_total`.
    pub async fn enqueue(&self, provider: &str, request: InboundRequest) -> Result<String> {
        let ids = self
            .inner
            .store
            .enqueue(vec![NewInboxEntry {
                provider: provider.to_owned(),
                request,
                received_at: now_ms(),
            }])
            .await?;
        self.inner.metrics.webhook_verified(provider);
        self.inner.inbox_wake.notify_one();
        ids.into_iter()
            .next()
            .ok_or_else(|| Error::new(ErrorKind::Internal, "the store returned no inbox id"))
    }

    /// The whole ingress decision for one request to `POST|GET /webhooks/{provider}`: an unknown
    /// provider is `NotFound`; a handshake is answered; otherwise the signature is verified
    /// (errors: `InvalidSignature`, `StaleTimestamp`, `Config` for missing secrets -> the ingress
    /// answers 401 or 500) and the request is enqueued. Counts received/verified/rejected.
    pub async fn ingest(&self, provider: &str, request: InboundRequest) -> Result<IngestOutcome> {
        let m = &self.inner.metrics;
        m.webhook_received(provider);
        let Some(adapter) = self.adapter(provider) else {
            m.webhook_rejected(provider, ErrorKind::NotFound.as_str());
            return Err(Error::new(ErrorKind::NotFound, "no such provider").with_provider(provider));
        };
        let secrets = self.secrets(provider);
        if let Some(h) = adapter.handshake(&request, &secrets) {
            return match h {
                Ok(resp) => Ok(IngestOutcome::Handshake(resp)),
                Err(e) => {
                    m.webhook_rejected(provider, e.kind().as_str());
                    Err(e)
                }
            };
        }
        if let Err(e) = adapter.verify(&request, &secrets, now_ms()) {
            m.webhook_rejected(provider, e.kind().as_str());
            return Err(e);
        }
        Ok(IngestOutcome::Accepted(
            self.enqueue(provider, request).await?,
        ))
    }

    /// Creates or updates the connection of (`provider`, `provider_user_id`), encrypting its
    /// tokens. An existing connection keeps its id. The tenant must be configured (it needs sinks
    /// for the connection's data to go anywhere): otherwise a `Config` error.
    pub async fn connect(&self, c: NewConnection) -> Result<ConnectionRecord> {
        if !self.inner.tenant_sinks.contains_key(&c.tenant_id) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "tenant {:?} is not configured; add [tenants.{}] with a sink first",
                    c.tenant_id, c.tenant_id
                ),
            )
            .with_field("tenant_id"));
        }
        let now = now_ms();
        let existing = self
            .inner
            .store
            .connection_for(&c.provider, &c.provider_user_id)
            .await?;
        let sealed = match &c.tokens {
            Some(t) => Some(self.inner.cipher.seal(t)?),
            None => existing.as_ref().and_then(|e| e.sealed_tokens.clone()),
        };
        let record = ConnectionRecord {
            connection_id: existing
                .as_ref()
                .map(|e| e.connection_id.clone())
                .unwrap_or_else(|| format!("conn_{}", uuid::Uuid::now_v7().simple())),
            tenant_id: c.tenant_id,
            user_id: c.user_id,
            external_user_ref: c.external_user_ref,
            provider: c.provider,
            provider_user_id: c.provider_user_id,
            status: ConnectionStatus::Active,
            sealed_tokens: sealed,
            created_at: existing.as_ref().map_or(now, |e| e.created_at),
            updated_at: now,
        };
        self.inner.store.upsert_connection(&record).await?;
        Ok(record)
    }

    /// The decrypted tokens of a connection.
    pub fn tokens(&self, connection: &ConnectionRecord) -> Result<Option<Tokens>> {
        self.inner.tokens_of(connection)
    }

    /// Ready when the store answers and no worker or dispatcher has stopped.
    pub async fn readiness(&self) -> Readiness {
        let mut problems = Vec::new();
        if let Err(e) = self.inner.store.ping().await {
            problems.push(format!("store: {e}"));
        }
        {
            let t = self
                .inner
                .tasks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if t.is_empty() {
                problems.push("workers are not started".to_owned());
            }
            for (name, h) in t.iter() {
                if h.is_finished() {
                    problems.push(format!("{name} stopped"));
                }
            }
        }
        Readiness {
            ready: problems.is_empty(),
            problems,
        }
    }

    /// Makes failed deliveries pending again (all, or one sink's) and wakes the dispatchers.
    pub async fn retry_failed_deliveries(&self, sink: Option<&SinkRef>) -> Result<usize> {
        let n = self.inner.store.retry_failed(sink, now_ms()).await?;
        self.inner.outbox_wake.notify_waiters();
        Ok(n)
    }

    /// Re-enables a sink disabled after `410 Gone` and wakes its dispatchers.
    pub async fn enable_sink(&self, sink: &SinkRef) -> Result<()> {
        self.inner
            .store
            .set_sink_enabled(sink, true, None, now_ms())
            .await?;
        self.inner.outbox_wake.notify_waiters();
        Ok(())
    }
}

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Applies `[retention]` at start and then hourly.
async fn retention_loop(inner: Arc<Inner>) {
    let mut shutdown = inner.shutdown.subscribe();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let r = &inner.config.retention;
        let days = |d: u64| i64::try_from(d).unwrap_or(i64::MAX).saturating_mul(DAY_MS);
        let now = now_ms();
        match inner
            .store
            .prune(
                now.saturating_sub(days(r.delivered_days)),
                r.archive_days.map(|d| now.saturating_sub(days(d))),
            )
            .await
        {
            Ok(p) if p.deliveries + p.archived > 0 => {
                tracing::info!(
                    deliveries = p.deliveries,
                    archived = p.archived,
                    "retention: pruned"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "retention: pruning failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = shutdown.changed() => {}
        }
    }
}
