//! The ingest worker: inbox -> `Adapter::parse` -> connection lookup -> `Adapter::fetch` (paced,
//! with the connection's decrypted token) -> `Adapter::normalize` -> content hashes (on this
//! worker, `PreparedItem`, so the store's single writer need not make them) -> archive raw
//! records + dedupe + outbox in one transaction ([`Store::apply`](crate::store::Store::apply)).
//!
//! Failure handling, per inbox entry:
//! - retryable (provider 5xx, 429, network, storage): put back with backoff (`Retry-After`
//!   honoured, the provider's gate paused); after `workers.max_inbox_attempts` it is quarantined;
//! - permanent (parse or normalize error, unknown provider user without auto-connect, revoked
//!   connection, 401/403/404 from the provider): quarantined with its error, replayable;
//! - nothing verified is dropped: an entry leaves the inbox only by the transaction that wrote its
//!   output, or into the quarantine.
//!
//! Ordering: one claimer task claims entries oldest first and routes each to one of
//! `workers.ingest` workers by its provider user, so a user's requests are processed one at a time
//! in arrival order (an older version of a record cannot overtake a newer one), and different users
//! in parallel. (Across several gateway processes this needs a per-connection lease in the store;
//! see the scale-out note.)
//!
//! A request is all-or-nothing: if any of its records fails to normalize, none of its items are
//! emitted and the request is quarantined (its fetched records are archived first). Otherwise its
//! raw records are archived in the apply transaction itself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use nexus_core::dedupe::PreparedItem;
use nexus_core::envelope::Source;
use nexus_core::http::HttpClient;
use nexus_core::{Error, ErrorKind, FetchContext, NormalizeContext, Notification, RawRecord};

use crate::crypto::Tokens;
use crate::ratelimit::PacedHttp;
use crate::runtime::{Inner, now_ms};
use crate::store::{
    Applied, ApplyBatch, ApplyGroup, ClaimedInbox, ConnectionRecord, ConnectionStatus,
    NewArchivedRecord, QuarantineReason,
};

/// The longest a worker waits for a provider's rate gate before putting the request back.
const MAX_GATE_WAIT: Duration = Duration::from_secs(5);

/// Why processing stopped.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Try again later.
    Retry(Error),
    /// Keep in the quarantine.
    Quarantine(Error),
}

fn classify(e: Error) -> Failure {
    if e.is_retryable() {
        Failure::Retry(e)
    } else {
        Failure::Quarantine(e)
    }
}

/// The claimer: claims due inbox entries (oldest first) while workers have room, and hands each to
/// the worker that owns its ordering key (provider + provider user), so one user's requests are
/// processed one at a time, in arrival order, while different users' run concurrently.
pub(crate) async fn claimer_loop(inner: Arc<Inner>, shards: Vec<mpsc::UnboundedSender<Work>>) {
    let mut shutdown = inner.shutdown.subscribe();
    let lease_ms = i64::try_from(inner.config.workers.inbox_lease_secs.saturating_mul(1000))
        .unwrap_or(i64::MAX);
    // At most this many claimed entries wait or run at once (their leases are ticking).
    let in_flight = Arc::new(Semaphore::new(shards.len().saturating_mul(4).max(1)));
    loop {
        if *shutdown.borrow() {
            break;
        }
        let free = in_flight.available_permits();
        if free == 0 {
            tokio::select! {
                p = in_flight.clone().acquire_owned() => drop(p),
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let claimed = match inner
            .store
            .claim_inbox("claimer", free, lease_ms, now_ms())
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "claiming inbox work failed");
                tokio::time::sleep(inner.poll_interval()).await;
                continue;
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                () = inner.inbox_wake.notified() => {}
                () = tokio::time::sleep(inner.poll_interval()) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        for c in claimed {
            let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                // Cannot happen (we claimed at most `free`); the lease expires and it comes back.
                continue;
            };
            // Parsed once, here: the worker uses the same notifications.
            let parsed = parse(&inner, &c);
            let shard = shard_of(&ordering_key(&c, parsed.as_ref().ok()), shards.len());
            let work = Work {
                claimed: c,
                parsed,
                _permit: permit,
            };
            if shards.get(shard).is_none_or(|tx| tx.send(work).is_err()) {
                // The workers are gone (shutdown); unprocessed leases expire and come back.
                return;
            }
        }
    }
}

/// One claimed entry, its request as parsed by its adapter, and its in-flight slot.
pub(crate) struct Work {
    claimed: ClaimedInbox,
    parsed: Result<Vec<Notification>, Failure>,
    _permit: OwnedSemaphorePermit,
}

/// A worker: processes the entries of its shard one at a time, in the order claimed.
pub(crate) async fn worker_loop(inner: Arc<Inner>, mut rx: mpsc::UnboundedReceiver<Work>) {
    while let Some(work) = rx.recv().await {
        process_claimed(&inner, work.claimed, work.parsed).await;
    }
}

/// The entry's request parsed by its provider's adapter.
fn parse(inner: &Inner, c: &ClaimedInbox) -> Result<Vec<Notification>, Failure> {
    let provider = c.entry.provider.as_str();
    let adapter = inner.adapters.get(provider).copied().ok_or_else(|| {
        Failure::Quarantine(
            Error::unsupported(provider, "no adapter for this provider in this binary")
                .with_provider(provider),
        )
    })?;
    adapter.parse(&c.entry.request).map_err(classify)
}

/// `provider:provider_user_id` of the request's first notification; the entry id when it names no
/// user or does not parse (it is processed, and fails, on its own).
fn ordering_key(c: &ClaimedInbox, parsed: Option<&Vec<Notification>>) -> String {
    let provider = &c.entry.provider;
    let user = parsed.and_then(|ns| {
        ns.iter().find_map(|n| {
            n.provider_user_id
                .as_deref()
                .or_else(|| n.records.iter().find_map(|r| r.provider_user_id.as_deref()))
        })
    });
    match user {
        Some(u) => format!("{provider}:{u}"),
        None => c.entry.id.clone(),
    }
}

fn shard_of(key: &str, shards: usize) -> usize {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    usize::try_from(h.finish() % u64::try_from(shards.max(1)).unwrap_or(1)).unwrap_or(0)
}

/// Processes one claimed entry to its end: applied, retried or quarantined.
pub(crate) async fn process_claimed(
    inner: &Inner,
    claimed: ClaimedInbox,
    parsed: Result<Vec<Notification>, Failure>,
) {
    let started = Instant::now();
    let fence = claimed.fence();
    let provider = claimed.entry.provider.clone();
    let m = &inner.metrics;
    match process(inner, &claimed, parsed).await {
        Ok(applied) => {
            m.add("requests_processed_total", &[("provider", &provider)], 1);
            m.add(
                "events_emitted_total",
                &[("provider", &provider)],
                applied.envelopes.len() as u64,
            );
            m.add(
                "items_suppressed_total",
                &[("provider", &provider)],
                applied.suppressed as u64,
            );
            m.observe("ingest_seconds", started.elapsed());
            let waited = now_ms().saturating_sub(claimed.entry.received_at);
            m.observe(
                "received_to_committed_seconds",
                Duration::from_millis(u64::try_from(waited).unwrap_or(0)),
            );
            if applied.fenced_out {
                tracing::warn!(inbox_id = %fence.inbox_id, "lease lost before commit; another worker owns the request");
            }
            if applied.deliveries > 0 {
                inner.outbox_wake.notify_waiters();
            }
        }
        Err(Failure::Retry(e))
            if claimed.entry.attempts + 1 < inner.config.workers.max_inbox_attempts =>
        {
            let delay = (inner.processing_backoff)(claimed.entry.attempts, e.retry_after());
            let not_before =
                now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
            m.add(
                "requests_retried_total",
                &[("provider", &provider), ("kind", e.kind().as_str())],
                1,
            );
            tracing::warn!(inbox_id = %fence.inbox_id, %provider, error = %e, ?delay, "retryable failure; will retry");
            if let Err(se) = inner
                .store
                .retry_inbox(&fence, &e.to_string(), not_before)
                .await
            {
                tracing::error!(inbox_id = %fence.inbox_id, error = %se, "could not reschedule; the lease will expire and it will be retried");
            }
        }
        Err(Failure::Retry(e) | Failure::Quarantine(e)) => {
            m.add(
                "requests_quarantined_total",
                &[("provider", &provider), ("kind", e.kind().as_str())],
                1,
            );
            tracing::warn!(inbox_id = %fence.inbox_id, %provider, error = %e, "request quarantined");
            let reason = QuarantineReason::from_error(&e);
            if let Err(se) = inner
                .store
                .quarantine_inbox(&fence, &reason, now_ms())
                .await
            {
                tracing::error!(inbox_id = %fence.inbox_id, error = %se, "could not quarantine; the lease will expire and it will be retried");
            }
        }
    }
}

async fn process(
    inner: &Inner,
    claimed: &ClaimedInbox,
    parsed: Result<Vec<Notification>, Failure>,
) -> Result<Applied, Failure> {
    let entry = &claimed.entry;
    let provider = entry.provider.as_str();
    let notifications = parsed?;
    // `parse` found the adapter.
    let Some(adapter) = inner.adapters.get(provider).copied() else {
        return Err(Failure::Quarantine(Error::unsupported(
            provider,
            "no adapter for this provider in this binary",
        )));
    };
    if notifications.is_empty() {
        inner
            .store
            .complete_inbox(&claimed.fence())
            .await
            .map_err(Failure::Retry)?;
        return Ok(Applied::default());
    }

    // Resolve every notification's connection first: nothing is fetched for a request that
    // cannot be routed.
    let mut by_conn: BTreeMap<String, (ConnectionRecord, Vec<Notification>)> = BTreeMap::new();
    for n in notifications {
        let puid = n
            .provider_user_id
            .clone()
            .or_else(|| n.records.iter().find_map(|r| r.provider_user_id.clone()))
            .ok_or_else(|| {
                Failure::Quarantine(Error::malformed(
                    provider,
                    "provider_user_id",
                    "the notification names no provider user",
                ))
            })?;
        if let Some(old) = n.previous_provider_user_id.as_deref() {
            relink(inner, provider, old, &puid).await?;
        }
        let conn = resolve_connection(inner, provider, &puid).await?;
        by_conn
            .entry(conn.connection_id.clone())
            .or_insert_with(|| (conn, Vec::new()))
            .1
            .push(n);
    }

    let descriptor = adapter.descriptor();
    let base_url = inner
        .config
        .base_url(provider)
        .or(descriptor.api_base_url)
        .unwrap_or("")
        .trim_end_matches('/')
        .to_owned();
    let secrets = inner.config.secrets(provider);
    let gate = inner.gate(provider);

    let mut fetched: Vec<(ConnectionRecord, Vec<Source>, Vec<RawRecord>)> = Vec::new();
    let oauth = descriptor.oauth.as_ref();
    // Every HTTP request the adapter makes is paced, and a 429 pauses the provider.
    let paced: Arc<dyn HttpClient> = Arc::new(PacedHttp::new(
        inner.http.clone(),
        gate.clone(),
        provider,
        MAX_GATE_WAIT,
    ));
    let context = |conn: &ConnectionRecord, tokens: &Option<Tokens>| FetchContext {
        http: paced.clone(),
        base_url: base_url.clone(),
        access_token: tokens.as_ref().map(|t| t.access_token.clone()),
        provider_user_id: Some(conn.provider_user_id.clone()),
        secrets: secrets.clone(),
        now_ms: now_ms(),
    };
    for (_, (conn, notes)) in by_conn {
        let mut tokens: Option<Tokens> = inner
            .tokens_of(&conn)
            .map_err(|e| Failure::Quarantine(e.with_provider(provider)))?;
        // An access token about to expire is refreshed before it is used (`oauth.rs`).
        if let (Some(spec), Some(t)) = (oauth, &tokens)
            && crate::oauth::expires_soon(t, now_ms())
        {
            let fresh = crate::oauth::refresh(inner, provider, spec, &conn, t)
                .await
                .map_err(classify)?;
            tokens = Some(fresh);
        }
        let mut ctx = context(&conn, &tokens);
        let mut refreshed = false;
        let mut sources = Vec::new();
        let mut records = Vec::new();
        for n in &notes {
            let got = loop {
                let e = match adapter.fetch(n, &ctx).await {
                    Ok(r) => break r,
                    Err(e) => e,
                };
                // A refused access token is refreshed once, and the fetch tried again with the
                // new one.
                if e.kind() == ErrorKind::Unauthorized
                    && !refreshed
                    && let (Some(spec), Some(t)) = (oauth, &tokens)
                    && t.refresh_token.is_some()
                {
                    refreshed = true;
                    let fresh = crate::oauth::refresh(inner, provider, spec, &conn, t)
                        .await
                        .map_err(classify)?;
                    tokens = Some(fresh);
                    ctx = context(&conn, &tokens);
                    continue;
                }
                if e.kind() == ErrorKind::RateLimited {
                    gate.pause(e.retry_after().unwrap_or(Duration::from_secs(60)))
                        .await;
                }
                return Err(classify(e));
            };
            let fetched_at = now_ms();
            inner.metrics.add(
                "records_fetched_total",
                &[("provider", provider)],
                got.len() as u64,
            );
            for mut r in got {
                if r.provider_notification_id.is_none() {
                    r.provider_notification_id = n.provider_notification_id.clone();
                }
                if r.provider_user_id.is_none() {
                    r.provider_user_id = Some(conn.provider_user_id.clone());
                }
                r.fetched_at.get_or_insert(fetched_at);
                records.push(r);
            }
            let source = Source {
                provider_notification_id: n.provider_notification_id.clone(),
                fetched_at,
            };
            if !sources.contains(&source) {
                sources.push(source);
            }
        }
        fetched.push((conn, sources, records));
    }

    let now = now_ms();
    let to_archive: Vec<NewArchivedRecord> = fetched
        .iter()
        .flat_map(|(conn, _, records)| {
            records.iter().map(|r| NewArchivedRecord {
                provider: provider.to_owned(),
                tenant_id: conn.tenant_id.clone(),
                connection_id: conn.connection_id.clone(),
                inbox_id: Some(entry.id.clone()),
                body_is_request: r.body == entry.request.body,
                record: r.clone(),
                archived_at: now,
            })
        })
        .collect();
    let mut groups = Vec::new();
    for (conn, sources, records) in fetched {
        match normalize_group(inner, adapter, &conn, sources, &records) {
            Ok(g) => groups.push(g),
            Err(e) => {
                // Quarantined, but its raw records are kept for a replay after the fix.
                if !to_archive.is_empty() {
                    inner
                        .store
                        .archive(to_archive)
                        .await
                        .map_err(Failure::Retry)?;
                }
                return Err(Failure::Quarantine(e));
            }
        }
    }
    // The raw records are archived in the same transaction as the items derived from them.
    let applied = inner
        .store
        .apply(ApplyBatch {
            fence: Some(claimed.fence()),
            emitted_at: now_ms(),
            groups,
            archive: to_archive,
        })
        .await
        .map_err(classify)?;
    Ok(applied)
}

/// Normalizes one connection's records into an apply group.
pub(crate) fn normalize_group(
    inner: &Inner,
    adapter: &dyn nexus_core::Adapter,
    conn: &ConnectionRecord,
    sources: Vec<Source>,
    records: &[RawRecord],
) -> Result<ApplyGroup, Error> {
    let ctx = NormalizeContext {
        provider_user_id: Some(conn.provider_user_id.clone()),
    };
    let normalized = records
        .iter()
        .map(|r| adapter.normalize(r, &ctx))
        .collect::<Result<Vec<_>, Error>>()?;
    build_group(inner, adapter.descriptor().id, conn, sources, normalized)
}

/// The apply group of one connection's normalized records, for the tenant's sinks (shared with
/// replay, which normalizes record by record itself).
pub(crate) fn build_group(
    inner: &Inner,
    provider: &str,
    conn: &ConnectionRecord,
    sources: Vec<Source>,
    normalized: Vec<nexus_core::Normalized>,
) -> Result<ApplyGroup, Error> {
    let sinks = inner
        .tenant_sinks
        .get(&conn.tenant_id)
        .filter(|s| !s.is_empty())
        .cloned()
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "tenant {:?} has no sinks configured; its envelopes would have nowhere to go",
                    conn.tenant_id
                ),
            )
            .with_provider(provider)
        })?;
    let mut items = Vec::new();
    let mut devices = Vec::new();
    for n in normalized {
        // Hashed here, on this worker, not inside the store's single writer.
        items.extend(n.items.into_iter().map(PreparedItem::new));
        for d in n.devices {
            if !devices
                .iter()
                .any(|x: &nexus_core::Device| x.device_id == d.device_id)
            {
                devices.push(d);
            }
        }
    }
    inner.metrics.add(
        "items_normalized_total",
        &[("provider", provider)],
        items.len() as u64,
    );
    Ok(ApplyGroup {
        provider: provider.to_owned(),
        recipient: conn.recipient(),
        sources,
        devices,
        items,
        sinks,
    })
}

/// A provider re-authenticated the account of `old` under the id `new`: the connection of `old`
/// now answers to `new` (same connection id, tenant, user and tokens), unless `new` already has a
/// connection of its own or `old` has none.
async fn relink(inner: &Inner, provider: &str, old: &str, new: &str) -> Result<(), Failure> {
    if old == new {
        return Ok(());
    }
    let store = &inner.store;
    if store
        .connection_for(provider, new)
        .await
        .map_err(Failure::Retry)?
        .is_some()
    {
        return Ok(());
    }
    let Some(mut conn) = store
        .connection_for(provider, old)
        .await
        .map_err(Failure::Retry)?
    else {
        return Ok(());
    };
    conn.provider_user_id = new.to_owned();
    conn.updated_at = now_ms();
    store
        .upsert_connection(&conn)
        .await
        .map_err(Failure::Retry)?;
    inner
        .metrics
        .add("connections_relinked_total", &[("provider", provider)], 1);
    tracing::info!(%provider, connection_id = %conn.connection_id, "re-authenticated provider user: the connection moved to the new provider user id");
    Ok(())
}

async fn resolve_connection(
    inner: &Inner,
    provider: &str,
    provider_user_id: &str,
) -> Result<ConnectionRecord, Failure> {
    let found = inner
        .store
        .connection_for(provider, provider_user_id)
        .await
        .map_err(Failure::Retry)?;
    let conn = match found {
        Some(c) => c,
        None => match &inner.config.auto_connect_tenant {
            Some(tenant) => {
                let now = now_ms();
                let record = ConnectionRecord {
                    connection_id: format!("conn_{}", uuid::Uuid::now_v7().simple()),
                    tenant_id: tenant.clone(),
                    user_id: provider_user_id.to_owned(),
                    external_user_ref: provider_user_id.to_owned(),
                    provider: provider.to_owned(),
                    provider_user_id: provider_user_id.to_owned(),
                    status: ConnectionStatus::Active,
                    sealed_tokens: None,
                    created_at: now,
                    updated_at: now,
                };
                if let Err(e) = inner.store.upsert_connection(&record).await {
                    // Two workers may race to create it: read what won.
                    return match inner.store.connection_for(provider, provider_user_id).await {
                        Ok(Some(c)) => Ok(c),
                        _ => Err(Failure::Retry(e)),
                    };
                }
                tracing::info!(%provider, connection_id = %record.connection_id, tenant = %tenant, "auto-connected a new provider user");
                record
            }
            None => {
                return Err(Failure::Quarantine(
                    Error::new(
                        ErrorKind::Unauthorized,
                        "no connection for this provider user; connect it, then replay the quarantine",
                    )
                    .with_provider(provider)
                    .with_field("provider_user_id"),
                ));
            }
        },
    };
    if conn.status != ConnectionStatus::Active {
        return Err(Failure::Quarantine(
            Error::new(ErrorKind::Unauthorized, "the connection is revoked")
                .with_provider(provider),
        ));
    }
    Ok(conn)
}
