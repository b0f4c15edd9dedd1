//! The pipeline end to end on the SQLite store, with fake adapters and fake sinks (named so):
//! ingest -> inbox -> parse/fetch -> archive -> normalize -> dedupe+outbox -> delivery.
// Test code: a failed expectation panics (clippy sees helpers outside #[test] fns as non-test).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use nexus_core::adapter::{AdapterDescriptor, SecretSpec};
use nexus_core::http::HttpRequest;
use nexus_core::items::Profile;
use nexus_core::{
    Adapter, DeliveryOutcome, Error, ErrorKind, EventType, FetchContext, InboundRequest, Ingestion,
    Item, ItemBody, NormalizeContext, Normalized, Notification, NotificationAction, RawRecord,
    Result, Secrets,
};
use nexus_runtime::store::{ArchiveFilter, DeliveryFilter, DeliveryState, SinkRef};
use nexus_runtime::{IngestOutcome, NewConnection, RetryPolicy, Runtime, Tokens};
use support::*;

// ---------------------------------------------------------------------------------------------
// Fake adapters

const SECRETS: &[SecretSpec] = &[SecretSpec {
    name: "webhook_secret",
    description: "fake shared secret",
    required: true,
}];

fn descriptor(id: &'static str, ingestion: Ingestion) -> AdapterDescriptor {
    AdapterDescriptor {
        id,
        display_name: "Fake",
        event_types: &[EventType::Profile],
        ingestion,
        signature: None,
        secrets: SECRETS,
        api_base_url: Some("https://fake-provider.invalid"),
        oauth: None,
        rate_limit: None,
        ack_deadline: None,
    }
}

/// A fake push provider. Body: `{"user": "...", "ref": "...", "profiles": [{"id": "...", "w": 70}]}`
/// (`"previous_user": "..."` marks a re-authentication of that user under the id `user`),
/// signed by header `x-fake-signature` = the secret. `w` as a string is refused unless `lenient`
/// (the "adapter fix"); every weight is multiplied by `scale` (a changed mapping, for replay).
struct FakePushAdapter {
    id: &'static str,
    descriptor: std::sync::OnceLock<AdapterDescriptor>,
    lenient: AtomicBool,
    scale: AtomicU32,
}

impl FakePushAdapter {
    const fn new(id: &'static str) -> FakePushAdapter {
        FakePushAdapter {
            id,
            descriptor: std::sync::OnceLock::new(),
            lenient: AtomicBool::new(false),
            scale: AtomicU32::new(1),
        }
    }
}

fn profile_item(provider: &str, record: &RawRecord, lenient: bool, scale: u32) -> Result<Item> {
    let v: serde_json::Value = serde_json::from_slice(&record.body)
        .map_err(|e| Error::malformed(provider, "$", e.to_string()))?;
    let id = v["id"]
        .as_str()
        .ok_or_else(|| Error::malformed(provider, "id", "missing"))?;
    let w = match &v["w"] {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) if lenient => s.parse().ok(),
        other => {
            return Err(Error::malformed(
                provider,
                "w",
                format!("expected a number, got {other}"),
            ));
        }
    };
    Ok(Item::new(
        provider,
        id,
        1_700_000_000_000,
        ItemBody::Profile(Profile {
            provider_user_id: record.provider_user_id.clone(),
            birth_year: None,
            sex: None,
            height_m: None,
            weight_kg: w.map(|w| w * f64::from(scale)),
        }),
    ))
}

#[async_trait::async_trait]
impl Adapter for FakePushAdapter {
    fn descriptor(&self) -> &AdapterDescriptor {
        self.descriptor
            .get_or_init(|| descriptor(self.id, Ingestion::Push))
    }

    fn verify(&self, request: &InboundRequest, secrets: &Secrets, _now_ms: i64) -> Result<()> {
        let secret = secrets.require(self.id, "webhook_secret")?;
        match request.header("x-fake-signature") {
            Some(s) if s == secret => Ok(()),
            _ => Err(Error::invalid_signature(
                self.id,
                "signature does not match",
            )),
        }
    }

    fn parse(&self, request: &InboundRequest) -> Result<Vec<Notification>> {
        let v: serde_json::Value = serde_json::from_slice(&request.body)
            .map_err(|e| Error::malformed(self.id, "$", e.to_string()))?;
        let user = v["user"].as_str().map(str::to_owned);
        let records = v["profiles"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        let mut r = RawRecord::new("profile", serde_json::to_vec(p).unwrap());
                        r.provider_user_id = user.clone();
                        r
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(vec![Notification {
            provider_notification_id: v["ref"].as_str().map(str::to_owned),
            provider_user_id: user,
            previous_provider_user_id: v["previous_user"].as_str().map(str::to_owned),
            kind: "profile".into(),
            action: NotificationAction::Update,
            record_id: None,
            range: None,
            event_ts: None,
            records,
        }])
    }

    fn normalize(&self, record: &RawRecord, _ctx: &NormalizeContext) -> Result<Normalized> {
        let mut n = Normalized::default();
        n.push(profile_item(
            self.id,
            record,
            self.lenient.load(Ordering::SeqCst),
            self.scale.load(Ordering::SeqCst),
        )?);
        Ok(n)
    }
}

/// A fake notify-then-fetch provider: body `{"user": "...", "record": "r1"}`; fetch is
/// `GET {base}/records/{record}` with the bearer token.
struct FakeFetchAdapter {
    descriptor: std::sync::OnceLock<AdapterDescriptor>,
}

#[async_trait::async_trait]
impl Adapter for FakeFetchAdapter {
    fn descriptor(&self) -> &AdapterDescriptor {
        self.descriptor
            .get_or_init(|| descriptor("fakefetch", Ingestion::NotifyThenFetch))
    }

    fn verify(&self, _request: &InboundRequest, _secrets: &Secrets, _now_ms: i64) -> Result<()> {
        Ok(())
    }

    fn parse(&self, request: &InboundRequest) -> Result<Vec<Notification>> {
        let v: serde_json::Value = serde_json::from_slice(&request.body)
            .map_err(|e| Error::malformed("fakefetch", "$", e.to_string()))?;
        Ok(vec![Notification {
            provider_notification_id: Some("n-1".into()),
            provider_user_id: v["user"].as_str().map(str::to_owned),
            previous_provider_user_id: None,
            kind: "profile".into(),
            action: NotificationAction::Update,
            record_id: v["record"].as_str().map(str::to_owned),
            range: None,
            event_ts: None,
            records: vec![],
        }])
    }

    async fn fetch(&self, n: &Notification, ctx: &FetchContext) -> Result<Vec<RawRecord>> {
        let id = n.record_id.as_deref().unwrap_or("");
        let token = ctx.require_token("fakefetch")?;
        let resp = ctx
            .http
            .send(HttpRequest::get(format!("{}/records/{id}", ctx.base_url)).bearer(token))
            .await?
            .error_for_status("fakefetch")?;
        Ok(vec![RawRecord::new("profile", resp.body)])
    }

    fn normalize(&self, record: &RawRecord, _ctx: &NormalizeContext) -> Result<Normalized> {
        let mut n = Normalized::default();
        n.push(profile_item("fakefetch", record, false, 1)?);
        Ok(n)
    }
}

fn leak<A: Adapter>(a: A) -> &'static dyn Adapter {
    Box::leak(Box::new(a))
}

fn push_request(secret: &str, body: serde_json::Value) -> InboundRequest {
    InboundRequest {
        method: "POST".into(),
        path: "/webhooks/fakepush".into(),
        query: None,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-fake-signature".into(), secret.into()),
        ],
        body: Bytes::from(serde_json::to_vec(&body).unwrap()),
    }
}

const PUSH_CONFIG: &str = r#"
    [providers.fakepush]
    webhook_secret = "fake-push-secret"
"#;

async fn accept(rt: &Runtime, provider: &str, req: InboundRequest) -> String {
    match rt.ingest(provider, req).await.unwrap() {
        IngestOutcome::Accepted(id) => id,
        IngestOutcome::Handshake(h) => panic!("unexpected handshake {h:?}"),
    }
}

// ---------------------------------------------------------------------------------------------

/// No configuration beyond the provider secret: the default tenant, auto-connect, the jsonl sink
/// under the data directory. Identical re-delivery emits nothing; a change emits revision 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_end_to_end_into_the_default_jsonl_sink() {
    let (store, dir) = temp_store();
    let mut cfg = nexus_runtime::Config::from_sources(
        Some(&format!(
            "data_dir = {:?}\n{PUSH_CONFIG}",
            dir.path().to_str().unwrap()
        )),
        Vec::<(String, String)>::new(),
    )
    .unwrap();
    cfg.workers.poll_interval_ms = 20;
    let rt = Runtime::builder(cfg, store.clone())
        .adapters(vec![leak(FakePushAdapter::new("fakepush"))])
        .http(Arc::new(FakeProviderApi::default()))
        .build()
        .await
        .unwrap();
    rt.spawn_workers();
    // The key was generated and kept in the data directory.
    assert!(dir.path().join("encryption.key").exists());
    let jsonl = dir.path().join("envelopes.jsonl");
    let lines = || {
        std::fs::read_to_string(&jsonl)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let body =
        serde_json::json!({"user": "pu-1", "ref": "note-1", "profiles": [{"id": "a", "w": 70}]});
    accept(
        &rt,
        "fakepush",
        push_request("fake-push-secret", body.clone()),
    )
    .await;
    wait_until("one envelope in the jsonl file", || async {
        lines().len() == 1
    })
    .await;
    let e = &lines()[0];
    assert_eq!(e["tenant_id"], "default");
    assert_eq!(e["provider"], "fakepush");
    assert_eq!(e["event_type"], "profile");
    assert_eq!(e["external_user_ref"], "pu-1");
    assert_eq!(e["data"][0]["revision"], 1);
    assert_eq!(e["data"][0]["weight_kg"], 70.0);
    assert_eq!(e["sources"][0]["provider_notification_id"], "note-1");
    let conn = rt
        .store()
        .connection_for("fakepush", "pu-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e["connection_id"], conn.connection_id.as_str());

    // The same data again: processed, nothing new.
    accept(&rt, "fakepush", push_request("fake-push-secret", body)).await;
    wait_inbox_drained(&rt).await;
    let changed =
        serde_json::json!({"user": "pu-1", "ref": "note-2", "profiles": [{"id": "a", "w": 71}]});
    accept(&rt, "fakepush", push_request("fake-push-secret", changed)).await;
    wait_until("the revision in the jsonl file", || async {
        lines().len() == 2
    })
    .await;
    let all = lines();
    assert_eq!(all[1]["data"][0]["revision"], 2);
    assert_eq!(
        all[1]["data"][0]["source_id"],
        all[0]["data"][0]["source_id"]
    );
    assert_ne!(all[1]["event_id"], all[0]["event_id"]);
    // Raw records were archived.
    let archived = rt
        .store()
        .archived(&ArchiveFilter {
            limit: 100,
            ..ArchiveFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(archived.len(), 3);
    let metrics = rt.render_metrics().await.unwrap();
    assert!(metrics.contains("nexus_webhooks_verified_total{provider=\"fakepush\"} 3"));
    assert!(metrics.contains("nexus_events_emitted_total{provider=\"fakepush\"} 2"));
    assert!(metrics.contains("nexus_received_to_committed_seconds_count 3"));
    assert!(metrics.contains("nexus_outbox_to_delivered_seconds_count 2"));
    assert!(rt.readiness().await.ready);
    rt.shutdown().await;
}

/// A request whose signature does not verify is refused and not stored.
#[tokio::test]
async fn invalid_signatures_are_refused_and_not_stored() {
    let (store, _dir) = temp_store();
    let rt = Runtime::builder(config(PUSH_CONFIG), store.clone())
        .adapters(vec![leak(FakePushAdapter::new("fakepush"))])
        .cipher(test_cipher())
        .sink("default", "jsonl", FakeRecordingSink::new())
        .build()
        .await
        .unwrap();
    let err = rt
        .ingest(
            "fakepush",
            push_request("fake-wrong", serde_json::json!({"user": "u"})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
    let err = rt
        .ingest("nosuch", push_request("x", serde_json::json!({})))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let d = rt.store().depths(nexus_runtime::now_ms()).await.unwrap();
    assert_eq!(d.inbox_ready, 0);
    assert!(
        rt.metrics().counter(
            "webhooks_rejected_total",
            &[("provider", "fakepush"), ("reason", "invalid_signature")]
        ) == 1
    );
}

/// A running runtime with `adapter` on a fresh store, its `default` tenant's jsonl sink replaced
/// by a recording fake.
async fn default_push_runtime(
    adapter: &'static dyn Adapter,
) -> (Runtime, Arc<FakeRecordingSink>, tempfile::TempDir) {
    let (store, dir) = temp_store();
    let sink = FakeRecordingSink::new();
    let rt = Runtime::builder(config(PUSH_CONFIG), store)
        .adapters(vec![adapter])
        .cipher(test_cipher())
        .sink("default", "jsonl", sink.clone())
        .build()
        .await
        .unwrap();
    rt.spawn_workers();
    (rt, sink, dir)
}

static FIXABLE: FakePushAdapter = FakePushAdapter::new("fakepush");

/// A verified request that fails normalization is quarantined with its error, and emitted after
/// the adapter is fixed and the quarantine replayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normalization_failures_are_quarantined_and_replayable() {
    let (rt, sink, _dir) = default_push_runtime(&FIXABLE).await;
    let id = accept(
        &rt,
        "fakepush",
        push_request(
            "fake-push-secret",
            serde_json::json!({"user": "pu-1", "profiles": [{"id": "a", "w": "70.5"}]}),
        ),
    )
    .await;
    wait_until("the request to be quarantined", || async {
        !rt.store().quarantined(10).await.unwrap().is_empty()
    })
    .await;
    let q = rt.store().quarantined(10).await.unwrap();
    assert_eq!(q[0].entry.id, id);
    assert_eq!(q[0].reason.kind, "malformed_payload");
    assert!(
        q[0].reason.message.contains("field `w`"),
        "{}",
        q[0].reason.message
    );
    assert!(sink.seen().is_empty());

    FIXABLE.lenient.store(true, Ordering::SeqCst);
    assert_eq!(rt.replay_quarantined(None).await.unwrap(), 1);
    wait_until("the replayed request to be delivered", || async {
        sink.seen().len() == 1
    })
    .await;
    assert_eq!(sink.delivered_envelopes()[0]["data"][0]["weight_kg"], 70.5);
    assert!(rt.store().quarantined(10).await.unwrap().is_empty());
    rt.shutdown().await;
}

static RESCALED: FakePushAdapter = FakePushAdapter::new("fakepush");

/// Replaying archived records after a mapping change re-derives the items: same source_id,
/// next revision, `sources: []`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_replay_emits_revisions_with_empty_sources() {
    let (rt, sink, _dir) = default_push_runtime(&RESCALED).await;
    accept(
        &rt,
        "fakepush",
        push_request(
            "fake-push-secret",
            serde_json::json!({"user": "pu-1", "ref": "r", "profiles": [{"id": "a", "w": 70}, {"id": "b", "w": 60}]}),
        ),
    )
    .await;
    wait_until("first delivery", || async { sink.seen().len() == 1 }).await;
    // Unchanged adapter: a replay emits nothing.
    let report = rt.replay_archive(&ArchiveFilter::default()).await.unwrap();
    assert_eq!(report.records, 2);
    assert_eq!(report.envelopes, 0);
    assert_eq!(report.suppressed, 2);
    RESCALED.scale.store(2, Ordering::SeqCst);
    let report = rt
        .replay_archive(&ArchiveFilter {
            provider: Some("fakepush".into()),
            ..ArchiveFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(report.envelopes, 1);
    assert!(report.failures.is_empty());
    wait_until("the replayed revision", || async { sink.seen().len() == 2 }).await;
    let e = sink.delivered_envelopes();
    assert_eq!(e[1]["sources"], serde_json::json!([]));
    assert_eq!(e[1]["data"][0]["revision"], 2);
    assert_eq!(e[1]["data"][0]["weight_kg"], 140.0);
    assert_eq!(e[1]["data"][0]["source_id"], e[0]["data"][0]["source_id"]);
    rt.shutdown().await;
}

fn short_backoff(_attempts: u32, retry_after: Option<Duration>) -> Duration {
    retry_after.unwrap_or(Duration::from_millis(20))
}

/// Notify-then-fetch: the fetch uses the connection's decrypted token and the configured base
/// URL; a 429 is retried after its Retry-After; a request for an unknown user (no auto-connect)
/// is quarantined until the user is connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_use_the_token_and_retry_after_429() {
    let (store, _dir) = temp_store();
    let api = Arc::new(FakeProviderApi::default());
    api.set(vec![
        FakeExchange {
            method: "GET".into(),
            path: "/records/r1".into(),
            status: 429,
            headers: vec![("retry-after".into(), "1".into())],
            body: Bytes::new(),
        },
        FakeExchange {
            method: "GET".into(),
            path: "/records/r1".into(),
            status: 200,
            headers: vec![],
            body: Bytes::from_static(b"{\"id\":\"r1\",\"w\":55}"),
        },
    ]);
    let sink = FakeRecordingSink::new();
    let cfg = config(
        r#"
        [providers.fakefetch]
        base_url = "http://fake-api.invalid/"
        [tenants.acme.sinks.main]
        kind = "stdout"
    "#,
    );
    assert_eq!(cfg.auto_connect_tenant, None);
    let rt = Runtime::builder(cfg, store.clone())
        .adapters(vec![leak(FakeFetchAdapter {
            descriptor: std::sync::OnceLock::new(),
        })])
        .http(api.clone())
        .cipher(test_cipher())
        .sink("acme", "main", sink.clone())
        .processing_backoff(short_backoff)
        .build()
        .await
        .unwrap();
    rt.spawn_workers();
    let req = InboundRequest {
        method: "POST".into(),
        path: "/webhooks/fakefetch".into(),
        query: None,
        headers: vec![],
        body: Bytes::from_static(b"{\"user\":\"pu-9\",\"record\":\"r1\"}"),
    };
    accept(&rt, "fakefetch", req).await;
    wait_until("unknown user quarantined", || async {
        rt.store().quarantined(10).await.unwrap().len() == 1
    })
    .await;
    assert!(
        api.requests().is_empty(),
        "nothing is fetched for an unrouted request"
    );
    let conn = rt
        .connect(NewConnection {
            tenant_id: "acme".into(),
            user_id: "user-9".into(),
            external_user_ref: "ext-9".into(),
            provider: "fakefetch".into(),
            provider_user_id: "pu-9".into(),
            tokens: Some(Tokens {
                access_token: "fake-token-9".into(),
                refresh_token: None,
                expires_at: None,
            }),
        })
        .await
        .unwrap();
    assert!(conn.sealed_tokens.is_some());
    let unknown_tenant = rt
        .connect(NewConnection {
            tenant_id: "ghost".into(),
            user_id: "u".into(),
            external_user_ref: "e".into(),
            provider: "fakefetch".into(),
            provider_user_id: "pu-x".into(),
            tokens: None,
        })
        .await
        .unwrap_err();
    assert_eq!(unknown_tenant.kind(), ErrorKind::Config);
    // The stored tokens decrypt to what was given; the record holds only ciphertext.
    assert_eq!(
        rt.tokens(&conn).unwrap().unwrap().access_token,
        "fake-token-9"
    );
    assert!(
        !conn
            .sealed_tokens
            .as_ref()
            .unwrap()
            .windows(12)
            .any(|w| w == b"fake-token-9")
    );
    rt.replay_quarantined(None).await.unwrap();
    wait_until("delivery after the 429", || async {
        sink.seen().len() == 1
    })
    .await;
    let reqs = api.requests();
    assert_eq!(reqs.len(), 2, "one 429, one success");
    for r in &reqs {
        assert_eq!(r.url, "http://fake-api.invalid/records/r1");
        assert!(
            r.headers
                .contains(&("authorization".into(), "Bearer fake-token-9".into()))
        );
    }
    let e = &sink.delivered_envelopes()[0];
    assert_eq!(e["tenant_id"], "acme");
    assert_eq!(e["user_id"], "user-9");
    assert_eq!(e["connection_id"], conn.connection_id.as_str());
    assert_eq!(
        rt.metrics().counter(
            "requests_retried_total",
            &[("provider", "fakefetch"), ("kind", "rate_limited")]
        ),
        1
    );
    rt.shutdown().await;
}

fn fast_policy(attempts: usize) -> RetryPolicy {
    RetryPolicy {
        schedule: vec![Duration::from_millis(30); attempts],
        jitter: 0.0,
        throttle_floor: Duration::from_millis(30),
        max_retry_after: Duration::from_secs(1),
    }
}

async fn push_runtime(
    sinks: Vec<(&str, &str, Arc<FakeRecordingSink>)>,
    policy: RetryPolicy,
    toml_text: &str,
) -> (Runtime, tempfile::TempDir) {
    let (store, dir) = temp_store();
    let mut b = Runtime::builder(config(toml_text), store)
        .adapters(vec![leak(FakePushAdapter::new("fakepush"))])
        .cipher(test_cipher())
        .retry_policy(policy);
    for (t, s, sink) in sinks {
        b = b.sink(t, s, sink);
    }
    let rt = b.build().await.unwrap();
    rt.spawn_workers();
    (rt, dir)
}

/// Retryable failures are retried on the schedule with the same delivery id; when the schedule is
/// exhausted the delivery is kept as failed and a command makes it pending again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_retry_with_a_stable_id_then_fail_and_can_be_retried() {
    let retry = || DeliveryOutcome::Retry {
        after: None,
        reason: "fake receiver: HTTP 503".into(),
    };
    let sink = FakeRecordingSink::scripted(vec![retry(), retry(), retry()]);
    let (rt, _dir) = push_runtime(
        vec![("default", "jsonl", sink.clone())],
        fast_policy(3),
        PUSH_CONFIG,
    )
    .await;
    accept(
        &rt,
        "fakepush",
        push_request(
            "fake-push-secret",
            serde_json::json!({"user": "pu-1", "profiles": [{"id": "a", "w": 1}]}),
        ),
    )
    .await;
    wait_until("three attempts then failed", || async {
        !rt.store()
            .deliveries(&DeliveryFilter {
                state: Some(DeliveryState::Failed),
                limit: 10,
                ..DeliveryFilter::default()
            })
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    let seen = sink.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|d| d.id == seen[0].id), "webhook-id stable");
    assert_eq!(
        seen.iter().map(|d| d.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let attempts = rt.store().attempts(&seen[0].id).await.unwrap();
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[2].outcome, "failed");
    assert!(
        attempts[2]
            .error
            .as_deref()
            .unwrap()
            .contains("retries exhausted")
    );
    // The script is used up: a retry by command now succeeds.
    assert_eq!(rt.retry_failed_deliveries(None).await.unwrap(), 1);
    wait_until("delivered after the manual retry", || async {
        sink.seen().len() == 4
    })
    .await;
    wait_until("marked delivered", || async {
        rt.store()
            .deliveries(&DeliveryFilter {
                state: Some(DeliveryState::Delivered),
                limit: 10,
                ..DeliveryFilter::default()
            })
            .await
            .unwrap()
            .len()
            == 1
    })
    .await;
    assert_eq!(sink.seen()[3].id, seen[0].id);
    rt.shutdown().await;
}

/// `410 Gone` fails the delivery and disables the sink; nothing more is sent to it until it is
/// re-enabled, and the failed delivery can then be retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_disables_the_sink_until_reenabled() {
    let sink = FakeRecordingSink::scripted(vec![DeliveryOutcome::Disable {
        reason: "fake receiver: 410 Gone".into(),
    }]);
    let (rt, _dir) = push_runtime(
        vec![("default", "jsonl", sink.clone())],
        fast_policy(8),
        PUSH_CONFIG,
    )
    .await;
    let send = |w: i32| {
        push_request(
            "fake-push-secret",
            serde_json::json!({"user": "pu-1", "profiles": [{"id": "a", "w": w}]}),
        )
    };
    accept(&rt, "fakepush", send(1)).await;
    let sref = SinkRef {
        tenant_id: "default".into(),
        sink_id: "jsonl".into(),
    };
    wait_until("the sink to be disabled", || async {
        rt.store()
            .sink_states()
            .await
            .unwrap()
            .iter()
            .any(|s| s.sink == sref && !s.enabled)
    })
    .await;
    accept(&rt, "fakepush", send(2)).await;
    wait_inbox_drained(&rt).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sink.seen().len(), 1, "nothing is sent to a disabled sink");
    rt.enable_sink(&sref).await.unwrap();
    wait_until("the pending delivery after re-enabling", || async {
        sink.seen().len() == 2
    })
    .await;
    assert_eq!(rt.retry_failed_deliveries(Some(&sref)).await.unwrap(), 1);
    wait_until("the failed delivery after retry", || async {
        sink.seen().len() == 3
    })
    .await;
    assert_eq!(sink.seen()[2].id, sink.seen()[0].id);
    rt.shutdown().await;
}

/// Two tenants, each with its own sinks: every envelope reaches only its tenant's sinks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_never_cross_deliver() {
    let a = FakeRecordingSink::new();
    let b = FakeRecordingSink::new();
    let b2 = FakeRecordingSink::new();
    let cfg = r#"
        [providers.fakepush]
        webhook_secret = "fake-push-secret"
        [tenants.alpha.sinks.main]
        kind = "stdout"
        [tenants.beta.sinks.main]
        kind = "stdout"
        [tenants.beta.sinks.copy]
        kind = "stdout"
    "#;
    let (rt, _dir) = push_runtime(
        vec![
            ("alpha", "main", a.clone()),
            ("beta", "main", b.clone()),
            ("beta", "copy", b2.clone()),
        ],
        fast_policy(3),
        cfg,
    )
    .await;
    for (tenant, puid) in [("alpha", "pa"), ("beta", "pb")] {
        rt.connect(NewConnection {
            tenant_id: tenant.into(),
            user_id: format!("{tenant}-user"),
            external_user_ref: format!("{tenant}-ref"),
            provider: "fakepush".into(),
            provider_user_id: puid.into(),
            tokens: None,
        })
        .await
        .unwrap();
    }
    // The same native id for both users: same source_id, separate dedupe scopes.
    for n in 0..5 {
        for puid in ["pa", "pb"] {
            accept(
                &rt,
                "fakepush",
                push_request(
                    "fake-push-secret",
                    serde_json::json!({"user": puid, "profiles": [{"id": "same", "w": n}]}),
                ),
            )
            .await;
        }
    }
    wait_until("all deliveries", || async {
        a.seen().len() == 5 && b.seen().len() == 5 && b2.seen().len() == 5
    })
    .await;
    for e in a.delivered_envelopes() {
        assert_eq!(e["tenant_id"], "alpha");
        assert_eq!(e["user_id"], "alpha-user");
    }
    for sink in [&b, &b2] {
        for e in sink.delivered_envelopes() {
            assert_eq!(e["tenant_id"], "beta");
        }
        assert!(sink.seen().iter().all(|d| d.tenant_id == "beta"));
    }
    let revs: Vec<i64> = a
        .delivered_envelopes()
        .iter()
        .map(|e| e["data"][0]["revision"].as_i64().unwrap())
        .collect();
    let mut sorted = revs.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![1, 2, 3, 4, 5]);
    rt.shutdown().await;
}

/// With several workers, one user's requests are still processed in arrival order: revision n
/// carries the n-th value sent, never an older one after a newer one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_users_requests_are_processed_in_arrival_order() {
    let (store, _dir) = temp_store();
    let sink = FakeRecordingSink::new();
    let mut cfg = config(PUSH_CONFIG);
    cfg.workers.ingest = 4;
    let rt = Runtime::builder(cfg, store)
        .adapters(vec![leak(FakePushAdapter::new("fakepush"))])
        .cipher(test_cipher())
        .sink("default", "jsonl", sink.clone())
        .build()
        .await
        .unwrap();
    // Everything is in the inbox before the workers start, so they compete for it.
    for n in 0..30 {
        for user in ["u-a", "u-b", "u-c"] {
            rt.enqueue(
                "fakepush",
                push_request(
                    "fake-push-secret",
                    serde_json::json!({"user": user, "profiles": [{"id": user, "w": n}]}),
                ),
            )
            .await
            .unwrap();
        }
    }
    rt.spawn_workers();
    wait_until("all 90 deliveries", || async { sink.seen().len() == 90 }).await;
    for user in ["u-a", "u-b", "u-c"] {
        let mine: Vec<(i64, f64)> = sink
            .delivered_envelopes()
            .iter()
            .filter(|e| e["external_user_ref"] == user)
            .map(|e| {
                (
                    e["data"][0]["revision"].as_i64().unwrap(),
                    e["data"][0]["weight_kg"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(mine.len(), 30);
        let mut by_rev = mine.clone();
        by_rev.sort_by_key(|(r, _)| *r);
        for (i, (rev, w)) in by_rev.iter().enumerate() {
            assert_eq!(*rev, i as i64 + 1, "{user}");
            assert_eq!(
                *w, i as f64,
                "{user}: revision {rev} carries an out-of-order value"
            );
        }
    }
    rt.shutdown().await;
}

/// A re-authentication under a new provider user id moves the old id's connection: the request
/// is routed (not quarantined as an unknown user), its envelope carries the same connection,
/// tenant user and external ref, and the old id no longer maps to anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reauthenticated_user_keeps_its_connection() {
    let sink = FakeRecordingSink::new();
    let cfg = r#"
        [providers.fakepush]
        webhook_secret = "fake-push-secret"
        [tenants.acme.sinks.main]
        kind = "stdout"
    "#;
    let (rt, _dir) = push_runtime(vec![("acme", "main", sink.clone())], fast_policy(3), cfg).await;
    let conn = rt
        .connect(NewConnection {
            tenant_id: "acme".into(),
            user_id: "alice".into(),
            external_user_ref: "ext-alice".into(),
            provider: "fakepush".into(),
            provider_user_id: "pu-old".into(),
            tokens: None,
        })
        .await
        .unwrap();
    accept(
        &rt,
        "fakepush",
        push_request(
            "fake-push-secret",
            serde_json::json!({"user": "pu-new", "previous_user": "pu-old", "profiles": [{"id": "p", "w": 61}]}),
        ),
    )
    .await;
    wait_until("the delivery", || async { sink.seen().len() == 1 }).await;
    let e = &sink.delivered_envelopes()[0];
    assert_eq!(e["connection_id"], conn.connection_id.as_str());
    assert_eq!(e["user_id"], "alice");
    assert_eq!(e["external_user_ref"], "ext-alice");
    let store = rt.store();
    let moved = store
        .connection_for("fakepush", "pu-new")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.connection_id, conn.connection_id);
    assert!(
        store
            .connection_for("fakepush", "pu-old")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.quarantined(10).await.unwrap().is_empty());
    // A later request of the new id goes to the same connection.
    accept(
        &rt,
        "fakepush",
        push_request(
            "fake-push-secret",
            serde_json::json!({"user": "pu-new", "profiles": [{"id": "p", "w": 62}]}),
        ),
    )
    .await;
    wait_until("the second delivery", || async { sink.seen().len() == 2 }).await;
    let e = &sink.delivered_envelopes()[1];
    assert_eq!(e["connection_id"], conn.connection_id.as_str());
    assert_eq!(
        e["data"][0]["revision"], 2,
        "same connection: the same dedupe scope"
    );
    rt.shutdown().await;
}

static RESCALED_BIG: FakePushAdapter = FakePushAdapter::new("fakepush");

/// A replay applies at most ~4 MB of records per transaction: four 1.5 MB records are applied in
/// two transactions (two envelopes), and every item still gets its next revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_replay_of_large_records_applies_in_bounded_batches() {
    let (rt, sink, _dir) = default_push_runtime(&RESCALED_BIG).await;
    let pad = "x".repeat(1_500_000);
    let profiles: Vec<_> = (0..4)
        .map(|i| serde_json::json!({"id": format!("p{i}"), "w": 70 + i, "pad": pad}))
        .collect();
    accept(
        &rt,
        "fakepush",
        push_request(
            "fake-push-secret",
            serde_json::json!({"user": "pu-1", "ref": "r", "profiles": profiles}),
        ),
    )
    .await;
    wait_until("first delivery", || async { sink.seen().len() == 1 }).await;
    RESCALED_BIG.scale.store(2, Ordering::SeqCst);
    let report = rt.replay_archive(&ArchiveFilter::default()).await.unwrap();
    assert_eq!(report.records, 4);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.envelopes, 2, "two apply transactions");
    wait_until("the replayed revisions", || async {
        sink.seen().len() == 3
    })
    .await;
    let replayed: Vec<serde_json::Value> = sink.delivered_envelopes()[1..]
        .iter()
        .flat_map(|e| e["data"].as_array().unwrap().clone())
        .collect();
    assert_eq!(replayed.len(), 4);
    for item in &replayed {
        assert_eq!(item["revision"], 2);
    }
    rt.shutdown().await;
}
