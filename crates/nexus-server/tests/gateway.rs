//! The whole gateway on loopback: the real Terra adapter, the SQLite store, the runtime's workers
//! and dispatchers, the `webhook` sink, and the ingress on a real socket.
//!
//! - a signed Terra webhook in -> a signed envelope at a loopback receiver whose signature is
//!   verified by the PyPI `standardwebhooks` 1.1.0 package (needs `NEXUS_PYTHON`, see
//!   `nexus_sink_webhook::oracle`);
//! - a tampered request -> 401, nothing stored, nothing delivered;
//! - two tenants -> each tenant's envelopes reach only that tenant's sink.

// Test helpers outside #[test] fns may unwrap and panic too: a broken fixture must stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use nexus_runtime::store::{DeliveryFilter, DeliveryState};
use nexus_runtime::{Config, NewConnection, Runtime, Store, TokenCipher, now_ms};
use nexus_server::{Server, ServerOptions};
use nexus_sink_webhook::WebhookSecret;
use nexus_sink_webhook::oracle::{StandardWebhooksReceiver, python_or_skip};
use nexus_store_sqlite::SqliteStore;
use sha2::Sha256;
use tokio::sync::oneshot;

use nexus_adapter_terra as _; // linked so that the `terra` adapter is registered

const TERRA_SECRET: &str = "fake-terra-signing-secret-e2e";
const ACME_WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
// base64 of the 32 bytes "fake-globex-secret-for-tests-001"
const GLOBEX_WHSEC: &str = "whsec_ZmFrZS1nbG9iZXgtc2VjcmV0LWZvci10ZXN0cy0wMDE=";
const WAIT: Duration = Duration::from_secs(20);

/// A Terra sleep webhook body for `user_id` (our own example, shaped after Terra's docs).
fn terra_sleep(user_id: &str, summary_id: &str, score: u32) -> String {
    serde_json::json!({
        "type": "sleep",
        "user": {"user_id": user_id, "provider": "OURA", "reference_id": "ref", "active": true},
        "data": [{
            "metadata": {
                "summary_id": summary_id, "is_nap": false, "upload_type": 2,
                "start_time": "2026-11-22T23:10:00.000000+01:00",
                "end_time": "2026-11-23T06:55:00.000000+01:00"
            },
            "sleep_durations_data": {
                "asleep": {"duration_asleep_state_seconds": 25200},
                "other": {"duration_in_bed_seconds": 27900}
            },
            "scores": {"sleep_score": score}
        }],
        "version": "2022-03-16"
    })
    .to_string()
}

fn terra_signature(secret: &str, body: &str) -> String {
    let t = now_ms() / 1000;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

struct Gateway {
    base: String,
    runtime: Runtime,
    store: Arc<dyn Store>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<nexus_core::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Gateway {
    async fn start(sinks_toml: &str) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let toml = format!(
            r#"
data_dir = {data_dir:?}
[workers]
poll_interval_ms = 50
[providers.terra]
webhook_secret = "{TERRA_SECRET}"
{sinks_toml}
"#,
            data_dir = dir.path().display().to_string()
        );
        let config = Config::from_sources(Some(&toml), Vec::<(String, String)>::new()).unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("nexus.db")).unwrap());
        let runtime = Runtime::builder(config, store.clone())
            .cipher(TokenCipher::new(&[9u8; 32]))
            .build()
            .await
            .unwrap();
        runtime.spawn_workers();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let server = Server::new(runtime.clone(), ServerOptions::default());
        let task = tokio::spawn(server.serve(listener, async {
            let _ = rx.await;
        }));
        Gateway {
            base,
            runtime,
            store,
            stop: Some(tx),
            task,
            _dir: dir,
        }
    }

    async fn connect(&self, tenant: &str, provider_user_id: &str) {
        self.runtime
            .connect(NewConnection {
                tenant_id: tenant.to_owned(),
                user_id: format!("{tenant}-user"),
                external_user_ref: format!("{tenant}-ref"),
                provider: "terra".to_owned(),
                provider_user_id: provider_user_id.to_owned(),
                tokens: None,
            })
            .await
            .unwrap();
    }

    async fn post_terra(&self, body: &str, signature: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/webhooks/terra", self.base))
            .header("content-type", "application/json")
            .header("terra-signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// Waits until no inbox or outbox work is left.
    async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let d = self.store.depths(now_ms()).await.unwrap();
            if d.inbox_ready + d.inbox_delayed + d.inbox_leased + d.outbox_pending == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the pipeline did not settle: {d:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.unwrap().unwrap();
        self.runtime.shutdown().await;
    }
}

fn webhook_sink(tenant: &str, url: &str, whsec: &str) -> String {
    format!(
        r#"
[tenants.{tenant}.sinks.hook]
kind = "webhook"
url = "{url}"
secrets = ["{whsec}"]
timeout_s = 10
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terra_webhook_arrives_as_an_envelope_verified_by_standardwebhooks() {
    let Some(python) =
        python_or_skip("a_terra_webhook_arrives_as_an_envelope_verified_by_standardwebhooks")
    else {
        return;
    };
    let receiver = StandardWebhooksReceiver::start(&python, &[ACME_WHSEC], 204).unwrap();
    let gw = Gateway::start(&webhook_sink("acme", &receiver.url, ACME_WHSEC)).await;
    gw.connect("acme", "terra-user-a").await;

    let body = terra_sleep("terra-user-a", "sleep-a-1", 81);
    let resp = gw
        .post_terra(&body, &terra_signature(TERRA_SECRET, &body))
        .await;
    assert_eq!(resp.status(), 200);

    let report = receiver
        .next_report(WAIT)
        .expect("the receiver got no request");
    assert_eq!(
        report["verified"], true,
        "standardwebhooks refused: {report}"
    );
    assert_eq!(report["content_type"], "application/json");
    let webhook_id = report["webhook_id"].as_str().unwrap().to_owned();
    let envelope: serde_json::Value =
        serde_json::from_str(report["body"].as_str().unwrap()).unwrap();
    assert_eq!(envelope["provider"], "terra");
    assert_eq!(envelope["event_type"], "sleep");
    assert_eq!(envelope["tenant_id"], "acme");
    assert_eq!(envelope["user_id"], "acme-user");
    assert_eq!(envelope["external_user_ref"], "acme-ref");
    assert_eq!(envelope["data"][0]["score"].as_f64(), Some(81.0));

    gw.settle().await;
    let rows = gw
        .store
        .deliveries(&DeliveryFilter {
            limit: 10,
            ..DeliveryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, DeliveryState::Delivered);
    assert_eq!(
        rows[0].delivery_id, webhook_id,
        "webhook-id is the delivery id"
    );
    gw.stop().await;
}

/// A FAKE receiver (axum on loopback) that records what it gets and answers 200.
async fn recording_receiver() -> (String, Arc<Mutex<Vec<(HeaderMap, Bytes)>>>) {
    let seen: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let log = Arc::clone(&seen);
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let log = Arc::clone(&log);
        async move {
            log.lock().unwrap().push((headers, body));
            StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_webhook_gets_401_and_nothing_is_stored_or_delivered() {
    let (url, seen) = recording_receiver().await;
    let gw = Gateway::start(&webhook_sink("acme", &url, ACME_WHSEC)).await;
    gw.connect("acme", "terra-user-a").await;

    let body = terra_sleep("terra-user-a", "sleep-a-1", 81);
    let signature = terra_signature(TERRA_SECRET, &body);
    let tampered = body.replace("81", "99");
    assert_ne!(tampered, body);
    let resp = gw.post_terra(&tampered, &signature).await;
    assert_eq!(resp.status(), 401);
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["error"], "invalid_signature");
    // Signed with another secret.
    let resp = gw
        .post_terra(&body, &terra_signature("fake-other-secret", &body))
        .await;
    assert_eq!(resp.status(), 401);

    tokio::time::sleep(Duration::from_millis(300)).await;
    let d = gw.store.depths(now_ms()).await.unwrap();
    assert_eq!(
        (
            d.inbox_ready,
            d.inbox_delayed,
            d.inbox_leased,
            d.quarantined
        ),
        (0, 0, 0, 0),
        "{d:?}"
    );
    assert_eq!(
        (d.outbox_pending, d.outbox_delivered, d.outbox_failed),
        (0, 0, 0)
    );
    assert!(gw.store.quarantined(10).await.unwrap().is_empty());
    assert!(seen.lock().unwrap().is_empty());

    // The untampered request goes through, so the refusals above were about the signature.
    let resp = gw.post_terra(&body, &signature).await;
    assert_eq!(resp.status(), 200);
    gw.settle().await;
    assert_eq!(seen.lock().unwrap().len(), 1);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_receive_only_their_own_envelopes() {
    let (acme_url, acme_seen) = recording_receiver().await;
    let (globex_url, globex_seen) = recording_receiver().await;
    let sinks = format!(
        "{}{}",
        webhook_sink("acme", &acme_url, ACME_WHSEC),
        webhook_sink("globex", &globex_url, GLOBEX_WHSEC)
    );
    let gw = Gateway::start(&sinks).await;
    gw.connect("acme", "terra-user-a").await;
    gw.connect("globex", "terra-user-g").await;

    for (user, n) in [("terra-user-a", 3), ("terra-user-g", 2)] {
        for i in 0..n {
            let body = terra_sleep(user, &format!("{user}-sleep-{i}"), 70 + i);
            let resp = gw
                .post_terra(&body, &terra_signature(TERRA_SECRET, &body))
                .await;
            assert_eq!(resp.status(), 200);
        }
    }
    gw.settle().await;

    let check = |seen: &Arc<Mutex<Vec<(HeaderMap, Bytes)>>>, tenant: &str, whsec: &str, n| {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), n, "{tenant} got {} envelopes", seen.len());
        let secret = WebhookSecret::parse(whsec).unwrap();
        for (headers, body) in seen.iter() {
            let envelope: serde_json::Value = serde_json::from_slice(body).unwrap();
            assert_eq!(envelope["tenant_id"], tenant, "cross-tenant delivery");
            assert_eq!(envelope["user_id"], format!("{tenant}-user"));
            // Signed with this tenant's sink secret.
            let id = headers["webhook-id"].to_str().unwrap();
            let ts: i64 = headers["webhook-timestamp"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(
                headers["webhook-signature"].to_str().unwrap(),
                secret.sign(id, ts, body)
            );
        }
    };
    check(&acme_seen, "acme", ACME_WHSEC, 3);
    check(&globex_seen, "globex", GLOBEX_WHSEC, 2);
    gw.stop().await;
}
