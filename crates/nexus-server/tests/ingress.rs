//! The ingress over real loopback sockets, with a FAKE adapter (`support/fake_adapter.rs`) and a
//! FAKE in-memory store (`support/fake_store.rs`).

// Test helpers outside #[test] fns may unwrap and panic too: a broken fixture must stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/fake_adapter.rs"]
mod fake_adapter;
#[path = "support/fake_store.rs"]
mod fake_store;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use fake_store::FakeStore;
use nexus_runtime::{Config, Runtime, TokenCipher};
use nexus_server::{DEV_SECRET, Server, ServerOptions};
use tokio::sync::oneshot;

const SECRET: &str = "fake-webhook-secret";

struct Running {
    base: String,
    store: Arc<FakeStore>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<nexus_core::Result<()>>,
}

impl Running {
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.unwrap().unwrap();
    }
}

const CONFIGURED: &str = r#"
[providers."fake-signed"]
webhook_secret = "fake-webhook-secret"
verification_token = "fake-token"

[tenants.t1.sinks.out]
kind = "stdout"
"#;

const UNCONFIGURED: &str = r#"
[tenants.t1.sinks.out]
kind = "stdout"
"#;

fn small_body_limit() -> ServerOptions {
    ServerOptions {
        max_body_bytes: 64 * 1024,
        ..ServerOptions::default()
    }
}

/// A runtime over a fake store with only the fake adapter; workers started when `workers`.
async fn runtime(store: Arc<FakeStore>, toml: &str, workers: bool) -> Runtime {
    let config = Config::from_sources(Some(toml), Vec::<(String, String)>::new()).unwrap();
    let rt = Runtime::builder(config, store)
        .adapters(vec![&fake_adapter::FakeSignedAdapter])
        .cipher(TokenCipher::new(&[7u8; 32]))
        .build()
        .await
        .unwrap();
    if workers {
        rt.spawn_workers();
    }
    rt
}

async fn start_with(
    store: Arc<FakeStore>,
    toml: &str,
    options: ServerOptions,
    workers: bool,
) -> Running {
    let server = Server::new(runtime(store.clone(), toml, workers).await, options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(listener, async {
        let _ = rx.await;
    }));
    Running {
        base,
        store,
        stop: Some(tx),
        task,
    }
}

async fn start() -> Running {
    start_with(
        Arc::new(FakeStore::default()),
        CONFIGURED,
        small_body_limit(),
        false,
    )
    .await
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post_signed(base: &str, body: &str, secret: &str) -> reqwest::Response {
    client()
        .post(format!("{base}/webhooks/{}", fake_adapter::ID))
        .header("content-type", "application/json")
        .header(
            fake_adapter::SIGNATURE_HEADER,
            fake_adapter::sign(secret, body.as_bytes()),
        )
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_verified_webhook_is_stored_raw_then_acknowledged() {
    let r = start().await;
    let body = r#"{"user":"u-1",  "n": 1}"#;
    let resp = post_signed(&r.base, body, SECRET).await;
    assert_eq!(resp.status(), 200);
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["status"], "accepted");
    assert!(json["id"].as_str().is_some_and(|s| !s.is_empty()));
    {
        let inbox = r.store.inbox.lock().unwrap();
        assert_eq!(inbox.len(), 1);
        let e = &inbox[0];
        assert_eq!(e.provider, fake_adapter::ID);
        assert_eq!(
            &e.request.body[..],
            body.as_bytes(),
            "raw bytes, not re-serialized"
        );
        assert_eq!(e.request.method, "POST");
        assert_eq!(e.request.path, "/webhooks/fake-signed");
        assert!(e.request.header(fake_adapter::SIGNATURE_HEADER).is_some());
        let now = jiff::Timestamp::now().as_millisecond();
        assert!((now - e.received_at).abs() < 10_000);
    }
    let text = client()
        .get(format!("{}/metrics", r.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("nexus_inbox_ready 1\n")
            && text.contains("nexus_webhooks_verified_total{provider=\"fake-signed\"} 1\n"),
        "{text}"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_tampered_or_unsigned_webhook_gets_401_and_nothing_is_stored() {
    let r = start().await;
    let body = r#"{"user":"u-1","n":1}"#;
    // Signed for one body, sent with another.
    let resp = client()
        .post(format!("{}/webhooks/{}", r.base, fake_adapter::ID))
        .header(
            fake_adapter::SIGNATURE_HEADER,
            fake_adapter::sign(SECRET, body.as_bytes()),
        )
        .body(r#"{"user":"u-1","n":2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["error"], "invalid_signature");
    // Signed with the wrong secret.
    assert_eq!(post_signed(&r.base, body, "fake-other").await.status(), 401);
    // Not signed at all.
    let resp = client()
        .post(format!("{}/webhooks/{}", r.base, fake_adapter::ID))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(r.store.inbox.lock().unwrap().is_empty());
    assert_eq!(r.store.enqueue_calls.load(Ordering::SeqCst), 0);
    let metrics = client()
        .get(format!("{}/metrics", r.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "nexus_webhooks_rejected_total{provider=\"fake-signed\",reason=\"invalid_signature\"} 3"
        ),
        "{metrics}"
    );
    r.stop().await;
}

#[tokio::test]
async fn an_unknown_provider_gets_404_naming_the_known_ones() {
    let r = start().await;
    let resp = client()
        .post(format!("{}/webhooks/nope", r.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["error"], "unknown_provider");
    assert!(json["message"].as_str().unwrap().contains("`nope`"));
    assert!(json["message"].as_str().unwrap().contains("fake-signed"));
    assert!(
        json["known_providers"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("fake-signed"))
    );
    r.stop().await;
}

#[tokio::test]
async fn handshakes_are_answered_on_the_same_path() {
    let r = start().await;
    let url = format!("{}/webhooks/{}", r.base, fake_adapter::ID);
    let resp = client()
        .get(format!(
            "{url}?challenge=abc%20d&verification_token=fake-token"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["challenge"], "abc d");
    let resp = client()
        .get(format!("{url}?challenge=abc&verification_token=fake-wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // A GET that is not a handshake.
    let resp = client().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"].to_str().unwrap(), "POST");
    assert!(r.store.inbox.lock().unwrap().is_empty());
    r.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_and_nothing_is_stored() {
    let r = start().await;
    let body = format!(r#"{{"user":"u","pad":"{}"}}"#, "x".repeat(70 * 1024));
    let resp = post_signed(&r.base, &body, SECRET).await;
    assert_eq!(resp.status(), 413);
    assert!(r.store.inbox.lock().unwrap().is_empty());
    // Just under the limit passes.
    let body = format!(r#"{{"user":"u","pad":"{}"}}"#, "x".repeat(60 * 1024));
    assert_eq!(post_signed(&r.base, &body, SECRET).await.status(), 200);
    r.stop().await;
}

#[tokio::test]
async fn a_provider_without_its_secret_gets_503_and_dev_mode_uses_the_dev_secret() {
    let store = Arc::new(FakeStore::default());
    let r = start_with(store.clone(), UNCONFIGURED, ServerOptions::default(), false).await;
    let resp = post_signed(&r.base, r#"{"user":"u"}"#, SECRET).await;
    assert_eq!(resp.status(), 503);
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["error"], "not_configured");
    assert!(json["message"].as_str().unwrap().contains("webhook_secret"));
    r.stop().await;
    assert!(store.inbox.lock().unwrap().is_empty());

    let dev = ServerOptions {
        dev_secret: Some(DEV_SECRET.to_owned()),
        ..ServerOptions::default()
    };
    let r = start_with(store.clone(), UNCONFIGURED, dev, false).await;
    assert_eq!(
        post_signed(&r.base, r#"{"user":"u-dev"}"#, SECRET)
            .await
            .status(),
        401,
        "dev mode still verifies"
    );
    assert_eq!(
        post_signed(&r.base, r#"{"user":"u-dev"}"#, DEV_SECRET)
            .await
            .status(),
        200
    );
    assert_eq!(store.inbox.lock().unwrap().len(), 1);
    r.stop().await;
}

#[tokio::test]
async fn a_failing_store_gets_503_with_retry_after() {
    let r = start().await;
    r.store.fail.store(true, Ordering::SeqCst);
    let resp = post_signed(&r.base, r#"{"user":"u"}"#, SECRET).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"].to_str().unwrap(), "5");
    let ready = client()
        .get(format!("{}/readyz", r.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let json: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(json["ready"], false);
    assert!(
        json["problems"][0]
            .as_str()
            .unwrap()
            .contains("fake store is down"),
        "{json}"
    );
    r.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let store = Arc::new(FakeStore::default());
    // Workers running (over the fake store they find nothing to claim, but they are alive).
    let r = start_with(store.clone(), CONFIGURED, small_body_limit(), true).await;
    let resp = client()
        .get(format!("{}/healthz", r.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        post_signed(&r.base, r#"{"user":"u"}"#, SECRET)
            .await
            .status(),
        200
    );
    let resp = client()
        .get(format!("{}/readyz", r.base))
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["ready"], true, "{json}");
    assert_eq!(json["store"], "fake");
    assert_eq!(json["queues"]["inbox_ready"], 1);
    let resp = client()
        .get(format!("{}/metrics", r.base))
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = resp.text().await.unwrap();
    for line in [
        "nexus_webhooks_received_total{provider=\"fake-signed\"} 1",
        "nexus_webhooks_verified_total{provider=\"fake-signed\"} 1",
        "nexus_webhook_ack_seconds_count 1",
        "nexus_inbox_ready 1",
        "nexus_outbox_pending 0",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    r.stop().await;

    // Without workers the gateway is alive but not ready.
    let r = start_with(store, CONFIGURED, small_body_limit(), false).await;
    let resp = client()
        .get(format!("{}/healthz", r.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = client()
        .get(format!("{}/readyz", r.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["ready"], false);
    assert!(json["problems"].to_string().contains("workers"), "{json}");
    r.stop().await;
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight() {
    let r = start().await;
    // A slow commit: the request is in flight when shutdown begins.
    r.store.commit_delay_ms.store(300, Ordering::SeqCst);
    let base = r.base.clone();
    let inflight =
        tokio::spawn(async move { post_signed(&base, r#"{"user":"u"}"#, SECRET).await.status() });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let store = r.store.clone();
    r.stop().await;
    assert_eq!(inflight.await.unwrap(), 200);
    assert_eq!(store.inbox.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_client_sending_its_body_slowly_gets_408_and_nothing_is_stored() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let options = ServerOptions {
        request_timeout: Duration::from_millis(300),
        ..small_body_limit()
    };
    let r = start_with(Arc::new(FakeStore::default()), CONFIGURED, options, false).await;
    let addr = r.base.trim_start_matches("http://").to_owned();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // Announces 100 bytes, sends 10, then stalls.
    sock.write_all(
        format!(
            "POST /webhooks/{} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 100\r\n\r\n{{\"user\":\"u",
            fake_adapter::ID
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 1024];
        loop {
            let n = sock.read(&mut buf).await.unwrap();
            answer.extend_from_slice(&buf[..n]);
            if n == 0 || answer.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer to a stalled request");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(r.store.inbox.lock().unwrap().is_empty());
    r.stop().await;
}
