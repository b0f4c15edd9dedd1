//! Test doubles shared by the runtime's integration tests. Every double is a fake and named so.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use nexus_core::http::{HttpClient, HttpRequest, HttpResponse};
use nexus_core::{Delivery, DeliveryOutcome, Result, Sink};
use nexus_runtime::{Config, Runtime, TokenCipher};
use nexus_store_sqlite::SqliteStore;

/// A fake sink that records every delivery and answers from a script (then `Delivered`).
#[derive(Default)]
pub struct FakeRecordingSink {
    pub seen: Mutex<Vec<Delivery>>,
    pub script: Mutex<VecDeque<DeliveryOutcome>>,
}

impl FakeRecordingSink {
    pub fn new() -> Arc<FakeRecordingSink> {
        Arc::new(FakeRecordingSink::default())
    }

    pub fn scripted(outcomes: Vec<DeliveryOutcome>) -> Arc<FakeRecordingSink> {
        Arc::new(FakeRecordingSink {
            seen: Mutex::new(Vec::new()),
            script: Mutex::new(outcomes.into()),
        })
    }

    pub fn seen(&self) -> Vec<Delivery> {
        self.seen.lock().unwrap().clone()
    }

    /// Bodies of deliveries answered `Delivered`, as JSON.
    pub fn delivered_envelopes(&self) -> Vec<serde_json::Value> {
        self.seen()
            .iter()
            .map(|d| serde_json::from_slice(&d.body).unwrap())
            .collect()
    }
}

#[async_trait::async_trait]
impl Sink for FakeRecordingSink {
    fn kind(&self) -> &str {
        "fake-recording"
    }

    async fn deliver(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
        let mut out = Vec::new();
        for d in batch {
            self.seen.lock().unwrap().push(d.clone());
            out.push(
                self.script
                    .lock()
                    .unwrap()
                    .pop_front()
                    .unwrap_or(DeliveryOutcome::Delivered),
            );
        }
        out
    }
}

/// One recorded provider API exchange.
#[derive(Debug, Clone)]
pub struct FakeExchange {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// A fake provider API: answers requests from a list of exchanges matched by method and path
/// (any host), records every request, 404 for anything unknown.
#[derive(Default)]
pub struct FakeProviderApi {
    pub exchanges: Mutex<Vec<FakeExchange>>,
    pub requests: Mutex<Vec<HttpRequest>>,
}

impl FakeProviderApi {
    pub fn set(&self, exchanges: Vec<FakeExchange>) {
        *self.exchanges.lock().unwrap() = exchanges;
    }

    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests.lock().unwrap().clone()
    }
}

fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split('?').next().unwrap_or(path).to_owned()
}

#[async_trait::async_trait]
impl HttpClient for FakeProviderApi {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        self.requests.lock().unwrap().push(request.clone());
        let path = path_of(&request.url);
        let mut ex = self.exchanges.lock().unwrap();
        // The first matching exchange answers and is used up, so a scripted 429 then 200 works.
        let pos = ex
            .iter()
            .position(|e| e.method == request.method && e.path == path);
        Ok(match pos {
            Some(i) => {
                let e = if ex.iter().filter(|e| e.path == path).count() > 1 {
                    ex.remove(i)
                } else {
                    ex[i].clone()
                };
                HttpResponse {
                    status: e.status,
                    headers: e.headers,
                    body: e.body,
                }
            }
            None => HttpResponse {
                status: 404,
                headers: vec![],
                body: Bytes::from_static(b"{\"detail\":\"fake api: no such exchange\"}"),
            },
        })
    }
}

/// Polls `f` until it is true; fails the test after 20 s (a hang, not a performance check).
pub async fn wait_until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if f().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the inbox is empty (everything processed, retried items included).
pub async fn wait_inbox_drained(rt: &Runtime) {
    wait_until("the inbox to drain", || async {
        let d = rt.store().depths(nexus_runtime::now_ms()).await.unwrap();
        d.inbox_ready + d.inbox_delayed + d.inbox_leased == 0
    })
    .await;
}

/// A SQLite store in a fresh temporary directory.
pub fn temp_store() -> (Arc<SqliteStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("nexus.db")).unwrap();
    (Arc::new(store), dir)
}

/// A config from TOML with a fast poll interval, no environment.
pub fn config(toml_text: &str) -> Config {
    let mut c = Config::from_sources(Some(toml_text), Vec::<(String, String)>::new()).unwrap();
    c.workers.poll_interval_ms = 20;
    c
}

pub fn test_cipher() -> TokenCipher {
    TokenCipher::new(&[9; 32])
}
