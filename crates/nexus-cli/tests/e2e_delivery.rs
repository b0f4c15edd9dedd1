//! The real `nexus serve` binary over real loopback connections, black-box: a temp config (store in
//! a tempdir, tenant `acme` with a `webhook` sink pointing at a receiver this test runs), real
//! Terra webhooks signed with `terra-signature`, and what arrives at the receiver:
//!
//! - `kill -9` of the gateway in the middle of a stream of 10,000 notifications, then a restart:
//!   every envelope is delivered, none lost; a duplicate carries the same `webhook-id`;
//! - the receiver down for a while: deliveries are retried (a 1-second test schedule) and all
//!   arrive after it comes up.
//!
//! Everything is on 127.0.0.1; the gateway processes are killed at the end, also on failure.

// Test helpers outside #[test] fns may unwrap and panic too: a broken fixture must stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const NEXUS: &str = env!("CARGO_BIN_EXE_nexus");
/// Fake secrets only.
const TERRA_SECRET: &str = "fake-terra-signing-secret";
const SINK_SECRET: &str = "whsec_ZmFrZS1lMmUtc2luay1zZWNyZXQtMTIzNDU2";

// ---------------------------------------------------------------------------------------------
// The gateway process.

/// A free loopback port (bound, then released for the gateway or the receiver to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Writes the gateway's configuration: store under `dir`, Terra secret, tenant `acme` whose
/// provider users are auto-connected and whose `main` sink is a webhook to `sink_url`, and a
/// delivery schedule of one attempt per second (a test schedule; the default is the published one).
/// Leases are short (5 s instead of 120 s / 90 s) so that the work a killed gateway had claimed is
/// taken up again soon after the restart.
fn write_config(dir: &Path, port: u16, sink_url: &str) -> PathBuf {
    let schedule: Vec<String> = std::iter::once("0".to_owned())
        .chain(std::iter::repeat_n("1".to_owned(), 59))
        .collect();
    let text = format!(
        r#"listen = "127.0.0.1:{port}"
data_dir = "{data}"
auto_connect_tenant = "acme"

[workers]
ingest = 32
poll_interval_ms = 100
inbox_lease_secs = 5
delivery_lease_secs = 5

[delivery]
schedule_secs = [{schedule}]
jitter = 0.0

[providers.terra]
webhook_secret = "{TERRA_SECRET}"

[tenants.acme.sinks.main]
kind = "webhook"
url = "{sink_url}"
secrets = ["{SINK_SECRET}"]
timeout_s = 2
"#,
        data = dir.join("data").display(),
        schedule = schedule.join(", "),
    );
    let path = dir.join("nexus.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A running `nexus serve`; killed (SIGKILL) and reaped on drop, so a failing test leaves nothing.
struct Gateway {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Gateway {
    /// Starts `nexus serve --config <config>` and waits until it listens.
    fn start(config: &Path) -> Gateway {
        let mut cmd = Command::new(NEXUS);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("NEXUS_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .arg("serve")
            .arg("--config")
            .arg(config)
            .current_dir(config.parent().unwrap())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let keep = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("listening on") {
                    let _ = tx.send(());
                }
                keep.lock().unwrap().push(line);
            }
        });
        let mut gw = Gateway { child, log };
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let status = gw.child.try_wait().unwrap();
            panic!(
                "the gateway did not start listening (exit: {status:?}); log:\n{}",
                gw.log()
            );
        }
        gw
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// `kill -9`.
    fn kill9(&mut self) {
        self.child.kill().unwrap(); // SIGKILL on Unix
        self.child.wait().unwrap();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Terra webhooks.

/// Terra's `terra-signature` for `body` at unix second `t`.
fn terra_signature(t: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(TERRA_SECRET.as_bytes()).unwrap();
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Notification `i`: a Terra `daily` for one (user, day) pair no other notification has, so each
/// one emits its own new items (revision 1).
fn terra_daily(i: usize) -> Vec<u8> {
    let user = i % 50;
    let day = jiff::civil::date(2026, 1, 1)
        .checked_add(jiff::Span::new().days(i64::try_from(i / 50).unwrap()))
        .unwrap();
    let next = day.tomorrow().unwrap();
    serde_json::to_vec(&serde_json::json!({
        "type": "daily",
        "user": {
            "user_id": format!("e2e-user-{user:03}"),
            "provider": "GARMIN",
            "reference_id": format!("ext-{user}"),
            "active": true
        },
        "data": [{
            "metadata": {
                "start_time": format!("{day}T00:00:00.000000+01:00"),
                "end_time": format!("{next}T00:00:00.000000+01:00"),
                "upload_type": 1
            },
            "distance_data": {"steps": 5000 + i % 3000, "distance_meters": 4000 + i % 2000},
            "calories_data": {"total_burned_calories": 2000 + i % 500, "BMR_calories": 1700}
        }],
        "version": "2022-03-16"
    }))
    .unwrap()
}

/// Sends notification `i` until the gateway answers 200 (as a provider retries), re-signing each
/// attempt. Connection errors while the gateway is down are retried every 50 ms until `deadline`.
async fn send_until_acked(client: &reqwest::Client, url: &str, i: usize, deadline: Instant) {
    let body = terra_daily(i);
    loop {
        assert!(
            Instant::now() < deadline,
            "notification {i} was never acked"
        );
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header("terra-signature", terra_signature(unix_now(), &body))
            .header("terra-reference", format!("e2e-{i}"))
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status() == reqwest::StatusCode::OK => return,
            Ok(r) if r.status().is_server_error() => {}
            Ok(r) => panic!("notification {i}: unexpected status {}", r.status()),
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends notifications `0..n` with `concurrency` in flight; returns when all are acked.
async fn send_all(
    url: String,
    n: usize,
    concurrency: usize,
    acked: Arc<AtomicUsize>,
    deadline: Instant,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, url, next, acked) = (client.clone(), url.clone(), next.clone(), acked.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                send_until_acked(&client, &url, i, deadline).await;
                acked.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// The receiver.

/// One request the receiver accepted.
#[derive(Debug, Clone)]
struct Received {
    webhook_id: String,
    body: Bytes,
}

/// A loopback webhook receiver that keeps every request and answers 204. It checks the Standard
/// Webhooks headers are present; the signature itself is checked by the server's own tests (with
/// the PyPI `standardwebhooks` package as oracle).
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Received>>>,
    /// The notifications (terra-reference) named by the envelopes received so far.
    refs: Arc<Mutex<BTreeSet<String>>>,
}

impl Receiver {
    async fn serve_on(&self, listener: tokio::net::TcpListener) {
        let seen = Arc::clone(&self.seen);
        let refs = Arc::clone(&self.refs);
        let app = Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let seen = Arc::clone(&seen);
            let refs = Arc::clone(&refs);
            async move {
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let (Some(id), Some(_), Some(sig)) = (
                    h("webhook-id"),
                    h("webhook-timestamp"),
                    h("webhook-signature"),
                ) else {
                    return StatusCode::BAD_REQUEST;
                };
                if !sig.starts_with("v1,") {
                    return StatusCode::BAD_REQUEST;
                }
                let Ok(env) = serde_json::from_slice::<serde_json::Value>(&body) else {
                    return StatusCode::BAD_REQUEST;
                };
                let named = env["sources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s["provider_notification_id"].as_str().map(str::to_owned));
                refs.lock().unwrap().extend(named);
                seen.lock().unwrap().push(Received {
                    webhook_id: id,
                    body,
                });
                StatusCode::NO_CONTENT
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    }

    /// How many distinct notifications the received envelopes name.
    fn notifications(&self) -> usize {
        self.refs.lock().unwrap().len()
    }

    fn snapshot(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }
}

/// What the receiver got, checked for at-least-once: for every (source_id, revision), the
/// notifications (terra-reference) it came from and the webhook-ids that carried it.
#[derive(Debug, Default)]
struct Tally {
    /// (source_id, revision) -> webhook-ids it arrived under.
    ids_by_key: BTreeMap<(String, u64), BTreeSet<String>>,
    /// terra-reference -> (source_id, revision) keys it produced.
    keys_by_ref: BTreeMap<String, BTreeSet<(String, u64)>>,
    /// webhook-id -> the body it carried (must be the same bytes on every attempt).
    body_by_id: BTreeMap<String, Bytes>,
    /// Requests received in all.
    requests: usize,
}

fn tally(received: &[Received]) -> Tally {
    let mut t = Tally::default();
    for r in received {
        t.requests += 1;
        if let Some(prev) = t.body_by_id.insert(r.webhook_id.clone(), r.body.clone()) {
            assert_eq!(
                prev, r.body,
                "webhook-id {} carried two different bodies",
                r.webhook_id
            );
        }
        let env: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(env["tenant_id"], "acme");
        let refs: Vec<String> = env["sources"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["provider_notification_id"].as_str().map(str::to_owned))
            .collect();
        assert!(!refs.is_empty(), "an envelope names no notification: {env}");
        for item in env["data"].as_array().unwrap() {
            let key = (
                item["source_id"].as_str().unwrap().to_owned(),
                item["revision"].as_u64().unwrap(),
            );
            t.ids_by_key
                .entry(key.clone())
                .or_default()
                .insert(r.webhook_id.clone());
            for rf in &refs {
                t.keys_by_ref
                    .entry(rf.clone())
                    .or_default()
                    .insert(key.clone());
            }
        }
    }
    t
}

fn metric(text: &str, name: &str, label: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[test]
fn kill_9_in_the_middle_of_10000_notifications_loses_no_envelope() {
    const N: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let receiver = Receiver::default();
    let recv_listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let sink_url = format!("http://{}/hooks", recv_listener.local_addr().unwrap());
    rt.block_on(receiver.serve_on(recv_listener));
    let port = free_port();
    let config = write_config(dir.path(), port, &sink_url);
    let gateway = Arc::new(Mutex::new(Some(Gateway::start(&config))));

    let started = Instant::now();
    let deadline = started + Duration::from_secs(50);
    let acked = Arc::new(AtomicUsize::new(0));
    let sender = rt.spawn(send_all(
        format!("http://127.0.0.1:{port}/webhooks/terra"),
        N,
        48,
        acked.clone(),
        deadline,
    ));

    // kill -9 once half the stream is acked, then restart on the same store and port.
    while acked.load(Ordering::Relaxed) < N / 2 {
        assert!(
            Instant::now() < deadline,
            "only {} acked",
            acked.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let acked_at_kill = acked.load(Ordering::Relaxed);
    let delivered_at_kill = receiver.snapshot().len();
    gateway.lock().unwrap().as_mut().unwrap().kill9();
    *gateway.lock().unwrap() = Some(Gateway::start(&config));

    rt.block_on(sender).unwrap();
    assert_eq!(acked.load(Ordering::Relaxed), N);
    let acked_all = started.elapsed();

    // Wait until every notification's envelopes arrived.
    while receiver.notifications() < N && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let t = tally(&receiver.snapshot());
    let finished = started.elapsed();
    let log = gateway.lock().unwrap().as_ref().unwrap().log();
    let metrics = reqwest::blocking::get(format!("http://127.0.0.1:{port}/metrics"))
        .and_then(reqwest::blocking::Response::text)
        .unwrap_or_default();
    drop(gateway.lock().unwrap().take());
    let diagnostics = || {
        let problems: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .take(20)
            .collect();
        let gauges: Vec<&str> = metrics
            .lines()
            .filter(|l| !l.starts_with('#') && !l.contains("_bucket"))
            .collect();
        format!(
            "after {finished:?}: kill at {acked_at_kill} acked ({delivered_at_kill} delivered), all acked after {acked_all:?}\nwarnings:\n{}\nmetrics:\n{}",
            problems.join("\n"),
            gauges.join("\n")
        )
    };

    let missing: Vec<usize> = (0..N)
        .filter(|i| !t.keys_by_ref.contains_key(&format!("e2e-{i}")))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {N} acked notifications never reached the receiver (first: {:?}); {}",
        missing.len(),
        &missing[..missing.len().min(10)],
        diagnostics()
    );
    // Every notification is a new (user, day): all of them emit the same number of new items,
    // each at revision 1; a re-sent notification adds nothing new.
    let per_ref: BTreeSet<usize> = t.keys_by_ref.values().map(BTreeSet::len).collect();
    assert_eq!(
        per_ref.len(),
        1,
        "notifications emitted different item counts: {per_ref:?}"
    );
    let k = *per_ref.first().unwrap();
    assert!(k > 0);
    assert_eq!(
        t.ids_by_key.len(),
        N * k,
        "distinct (source_id, revision) at the receiver"
    );
    assert!(t.ids_by_key.keys().all(|(_, rev)| *rev == 1));
    // At least once, never a duplicate under a new webhook-id.
    let reissued: Vec<_> = t
        .ids_by_key
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .collect();
    assert!(
        reissued.is_empty(),
        "{} items arrived under more than one webhook-id, e.g. {:?}",
        reissued.len(),
        reissued.first()
    );
    let duplicates = t.requests - t.body_by_id.len();
    eprintln!(
        "all acked after {acked_all:?}, all delivered after {finished:?}; kill -9 at {acked_at_kill}/{N} acked ({delivered_at_kill} delivered); after restart: {} distinct items, {} deliveries, {duplicates} duplicate deliveries (same webhook-id)",
        t.ids_by_key.len(),
        t.requests
    );
}

#[test]
fn a_receiver_that_is_down_gets_every_envelope_once_it_is_back() {
    const N: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The receiver's port is chosen but nothing listens on it yet: connections are refused.
    let recv_port = free_port();
    let sink_url = format!("http://127.0.0.1:{recv_port}/hooks");
    let port = free_port();
    let config = write_config(dir.path(), port, &sink_url);
    let gateway = Gateway::start(&config);
    let deadline = Instant::now() + Duration::from_secs(40);
    let acked = Arc::new(AtomicUsize::new(0));
    rt.block_on(send_all(
        format!("http://127.0.0.1:{port}/webhooks/terra"),
        N,
        4,
        acked.clone(),
        deadline,
    ));
    assert_eq!(acked.load(Ordering::Relaxed), N);

    // Down long enough for several attempts to fail (the test schedule retries every second).
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    let retries = || {
        let text = reqwest::blocking::get(&metrics_url)
            .unwrap()
            .text()
            .unwrap();
        metric(&text, "nexus_deliveries_total", "outcome=\"retry\"")
    };
    while retries() < 2 * N as u64 {
        assert!(
            Instant::now() < deadline,
            "deliveries were not retried; log:\n{}",
            gateway.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The store's commit counters are exported: every ingest, claim and attempt so far was a
    // write operation, grouped into commits.
    let text = reqwest::blocking::get(&metrics_url)
        .unwrap()
        .text()
        .unwrap();
    let (transactions, operations) = (
        metric(&text, "nexus_store_transactions_total ", ""),
        metric(&text, "nexus_store_operations_total ", ""),
    );
    assert!(
        transactions > 0 && transactions <= operations && operations >= N as u64,
        "{transactions} transactions, {operations} operations"
    );

    // Up again, on the same port.
    let receiver = Receiver::default();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", recv_port)))
        .unwrap();
    rt.block_on(receiver.serve_on(listener));
    while receiver.notifications() < N && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let t = tally(&receiver.snapshot());
    assert_eq!(
        t.keys_by_ref.len(),
        N,
        "not every notification arrived after the receiver came back; log:\n{}",
        gateway.log()
    );
    assert!(t.ids_by_key.values().all(|ids| ids.len() == 1));
    let text = reqwest::blocking::get(&metrics_url)
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metric(&text, "nexus_deliveries_total", "outcome=\"delivered\"")
            >= t.body_by_id.len() as u64
    );
    assert_eq!(
        metric(&text, "nexus_deliveries_total", "outcome=\"failed\""),
        0
    );
    drop(gateway);
}
