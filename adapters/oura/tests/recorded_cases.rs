//! Runs every recorded case under `cases/` through the adapter and the dedupe engine without the
//! conformance harness: checks each step's expected error or handshake answer, that envelope
//! steps succeed, and the dedupe behaviour the sequence cases claim. Snapshots are the harness's
//! job; this test keeps the cases honest until (and besides) it runs them.
//!
//! `OURA_CASES_DUMP=1 cargo test -p nexus-adapter-oura --test recorded_cases -- --nocapture`
//! prints the emitted items of every step.

// A test file: a malformed case or a broken expectation must fail the test loudly, and helpers
// outside `#[test]` functions are not covered by clippy's allow-in-tests settings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use nexus_adapter_oura::OuraAdapter;
use nexus_core::dedupe::{StoredState, apply_batch};
use nexus_core::http::{HttpClient, HttpRequest, HttpResponse};
use nexus_core::{
    Adapter, EventType, FetchContext, InboundRequest, Item, ItemBody, NormalizeContext,
    Notification, NotificationAction, Result, Secrets,
};
use serde_json::Value;

const BASE: &str = "http://oura.fake.test";

/// A fake Oura API: serves a step's recorded exchanges by method and path, records misses.
struct ReplayHttp {
    exchanges: Vec<Value>,
    misses: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl HttpClient for ReplayHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        let path = request
            .url
            .strip_prefix(BASE)
            .unwrap_or(&request.url)
            .to_owned();
        assert!(
            request.headers.contains(&(
                "authorization".into(),
                "Bearer fake-oura-access-token".into()
            )),
            "fetch without the bearer token"
        );
        let found = self.exchanges.iter().find(|e| {
            let r = &e["request"];
            let want = match r["query"].as_str() {
                Some(q) => format!("{}?{q}", r["path"].as_str().unwrap()),
                None => r["path"].as_str().unwrap().to_owned(),
            };
            r["method"] == request.method.as_str() && want == path
        });
        let Some(e) = found else {
            self.misses.lock().unwrap().push(path.clone());
            return Ok(HttpResponse {
                status: 599,
                headers: vec![],
                body: Bytes::new(),
            });
        };
        let resp = &e["response"];
        let body = match &resp["body"] {
            Value::String(s) => s.clone(),
            other => serde_json::to_string(other).unwrap(),
        };
        let headers = resp["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.to_lowercase(), v.as_str().unwrap().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(HttpResponse {
            status: u16::try_from(resp["status"].as_u64().unwrap()).unwrap(),
            headers,
            body: Bytes::from(body),
        })
    }
}

/// What one step produced.
enum Outcome {
    Items(Vec<Item>),
    Error(String),
    Handshake(u16, String),
}

struct Runner {
    secrets: Secrets,
    connection: Value,
    states: HashMap<String, StoredState>,
}

impl Runner {
    async fn step(&mut self, step: &Value) -> Outcome {
        let now_ms = step["now_ms"].as_i64().unwrap();
        let notifications = if let Some(fetch) = step.get("fetch") {
            // A scheduled fetch (connect time, backfill): no inbound request.
            vec![Notification {
                provider_notification_id: None,
                provider_user_id: self.connection["provider_user_id"]
                    .as_str()
                    .map(str::to_owned),
                previous_provider_user_id: None,
                kind: fetch["kind"].as_str().unwrap().to_owned(),
                action: NotificationAction::Other,
                record_id: fetch["record_id"].as_str().map(str::to_owned),
                range: fetch["range"]
                    .as_array()
                    .map(|r| (r[0].as_i64().unwrap(), r[1].as_i64().unwrap())),
                event_ts: None,
                records: vec![],
            }]
        } else {
            match self.webhook(step, now_ms) {
                Ok(n) => n,
                Err(outcome) => return outcome,
            }
        };
        self.fetch_all(step, now_ms, &notifications).await
    }

    fn webhook(&mut self, step: &Value, now_ms: i64) -> Result<Vec<Notification>, Outcome> {
        let r = &step["request"];
        let request = InboundRequest {
            method: r["method"].as_str().unwrap().to_owned(),
            path: r["path"].as_str().unwrap().to_owned(),
            query: r["query"].as_str().map(str::to_owned),
            headers: r["headers"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.to_lowercase(), v.as_str().unwrap().to_owned()))
                .collect(),
            body: Bytes::from(r["body"].as_str().unwrap().to_owned()),
        };
        let adapter = OuraAdapter;
        if let Some(answer) = adapter.handshake(&request, &self.secrets) {
            return Err(match answer {
                Ok(h) => Outcome::Handshake(h.status, h.body),
                Err(e) => Outcome::Error(e.kind().as_str().to_owned()),
            });
        }
        if let Err(e) = adapter.verify(&request, &self.secrets, now_ms) {
            return Err(Outcome::Error(e.kind().as_str().to_owned()));
        }
        adapter
            .parse(&request)
            .map_err(|e| Outcome::Error(e.kind().as_str().to_owned()))
    }

    async fn fetch_all(
        &mut self,
        step: &Value,
        now_ms: i64,
        notifications: &[Notification],
    ) -> Outcome {
        let adapter = OuraAdapter;
        let http = Arc::new(ReplayHttp {
            exchanges: step["exchanges"].as_array().cloned().unwrap_or_default(),
            misses: Mutex::new(vec![]),
        });
        let ctx = FetchContext {
            http: http.clone(),
            base_url: BASE.to_owned(),
            access_token: self.connection["access_token"].as_str().map(str::to_owned),
            provider_user_id: self.connection["provider_user_id"]
                .as_str()
                .map(str::to_owned),
            secrets: self.secrets.clone(),
            now_ms,
        };
        let mut normalized = Vec::new();
        for n in notifications {
            let records = match adapter.fetch(n, &ctx).await {
                Ok(r) => r,
                Err(e) => return Outcome::Error(e.kind().as_str().to_owned()),
            };
            for record in &records {
                let nctx = NormalizeContext {
                    provider_user_id: ctx.provider_user_id.clone(),
                };
                match adapter.normalize(record, &nctx) {
                    Ok(out) => {
                        // Normalize is pure: the same record gives the same output.
                        assert_eq!(adapter.normalize(record, &nctx).unwrap(), out);
                        normalized.extend(out.items);
                    }
                    Err(e) => return Outcome::Error(e.kind().as_str().to_owned()),
                }
            }
        }
        assert!(
            http.misses.lock().unwrap().is_empty(),
            "unexpected requests {:?}",
            http.misses
        );
        Outcome::Items(apply_batch(&mut self.states, normalized))
    }
}

fn cases() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cases");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (
                name,
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

async fn run(case: &Value) -> Vec<Outcome> {
    let mut secrets = Secrets::new();
    for (k, v) in case["secrets"].as_object().unwrap() {
        secrets.insert(k, v.as_str().unwrap());
    }
    let mut runner = Runner {
        secrets,
        connection: case["connection"].clone(),
        states: HashMap::new(),
    };
    let mut out = Vec::new();
    for step in case["steps"].as_array().unwrap() {
        out.push(runner.step(step).await);
    }
    out
}

fn summary(items: &[Item]) -> Vec<(EventType, u32)> {
    items.iter().map(|i| (i.event_type(), i.revision)).collect()
}

#[tokio::test]
async fn every_case_meets_its_expectations() {
    let all = cases();
    assert!(all.len() >= 20, "cases missing: {}", all.len());
    let dump = std::env::var_os("OURA_CASES_DUMP").is_some();
    for (name, case) in &all {
        let outcomes = run(case).await;
        for (i, (step, outcome)) in case["steps"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&outcomes)
            .enumerate()
        {
            let expect = &step["expect"];
            match (expect, outcome) {
                (Value::String(s), Outcome::Items(items)) if s == "envelopes" => {
                    if dump {
                        println!("== {name} step {i}: {:?}", summary(items));
                        for it in items {
                            println!("{}", serde_json::to_string(it).unwrap());
                        }
                    }
                }
                (Value::Object(o), Outcome::Error(kind)) if o.contains_key("error") => {
                    assert_eq!(o["error"].as_str().unwrap(), kind, "{name} step {i}");
                }
                (Value::Object(o), Outcome::Handshake(status, body))
                    if o.contains_key("handshake") =>
                {
                    assert_eq!(
                        o["handshake"]["status"].as_u64().unwrap(),
                        u64::from(*status),
                        "{name}"
                    );
                    assert_eq!(o["handshake"]["body"].as_str().unwrap(), body, "{name}");
                }
                (_, Outcome::Error(kind)) => panic!("{name} step {i}: unexpected error {kind}"),
                _ => panic!("{name} step {i}: outcome does not match {expect}"),
            }
        }
    }
}

fn items_of(outcomes: &[Outcome], step: usize) -> &[Item] {
    match &outcomes[step] {
        Outcome::Items(items) => items,
        _ => panic!("step {step} did not emit items"),
    }
}

fn case(name: &str) -> Value {
    cases().into_iter().find(|(n, _)| n == name).unwrap().1
}

#[tokio::test]
async fn a_redelivery_emits_nothing_and_a_correction_re_emits_only_what_changed() {
    let out = run(&case("sleep-corrected")).await;
    let first = items_of(&out, 0);
    assert_eq!(first[0].event_type(), EventType::Sleep);
    let hr_chunks = first
        .iter()
        .filter(|i| i.event_type() == EventType::HeartRateSeries)
        .count();
    let hrv_chunks = first
        .iter()
        .filter(|i| i.event_type() == EventType::HrvRmssdSeries)
        .count();
    assert!(
        hr_chunks > 20 && hrv_chunks > 20,
        "{hr_chunks} {hrv_chunks}"
    );
    assert!(first.iter().all(|i| i.revision == 1));
    assert!(
        items_of(&out, 1).is_empty(),
        "identical re-delivery must emit nothing"
    );
    let third = items_of(&out, 2);
    // The sleep (stages changed), the HR chunks of items 12 and 70, the HRV chunk of item 12.
    assert_eq!(
        summary(third),
        vec![
            (EventType::Sleep, 2),
            (EventType::HeartRateSeries, 2),
            (EventType::HeartRateSeries, 2),
            (EventType::HrvRmssdSeries, 2),
        ]
    );
}

#[tokio::test]
async fn deletes_withdraw_the_emitted_item() {
    for name in [
        "sleep-deleted",
        "workout-manual-deleted",
        "sleep-rejected-as-rest",
    ] {
        let out = run(&case(name)).await;
        let created = &items_of(&out, 0)[0];
        let deleted = items_of(&out, 1);
        assert_eq!(deleted.len(), 1, "{name}");
        assert_eq!(deleted[0].source_id, created.source_id, "{name}");
        assert_eq!(deleted[0].revision, 2, "{name}");
        let ItemBody::Deletion(d) = &deleted[0].body else {
            panic!("{name}")
        };
        assert_eq!(d.deleted_event_type, created.event_type(), "{name}");
    }
}

#[tokio::test]
async fn a_changed_readiness_is_revision_two() {
    let out = run(&case("daily-readiness-updated")).await;
    assert_eq!(
        summary(items_of(&out, 1)),
        vec![(EventType::DailyReadiness, 2)]
    );
}

/// Every fetched document of the cases, with each of its fields (one level of nesting too)
/// removed, nulled, or replaced by a wrong type, a huge number, a negative number or a bad date:
/// normalize returns an item or a typed error, never panics.
#[test]
fn mutated_documents_never_panic() {
    let replacements = [
        Value::Null,
        Value::String("x".into()),
        serde_json::json!(1e300),
        serde_json::json!(-1),
        serde_json::json!("2024-13-45T99:99:99+99:99"),
        serde_json::json!([1, 2]),
        serde_json::json!({"a": 1}),
    ];
    let mut tried = 0;
    let mut seen = std::collections::HashSet::new();
    for (_, case) in cases() {
        for step in case["steps"].as_array().unwrap() {
            for ex in step["exchanges"].as_array().unwrap() {
                if ex["response"]["status"] != 200 {
                    continue;
                }
                let kind = ex["request"]["path"]
                    .as_str()
                    .unwrap()
                    .split('/')
                    .nth(3)
                    .unwrap();
                let doc = ex["response"]["body"].as_object().unwrap().clone();
                if !seen.insert(format!("{kind}{}", Value::Object(doc.clone()))) {
                    continue;
                }
                let mut variants: Vec<serde_json::Map<String, Value>> = Vec::new();
                for (key, value) in &doc {
                    let mut removed = doc.clone();
                    removed.remove(key);
                    variants.push(removed);
                    for r in &replacements {
                        let mut m = doc.clone();
                        m.insert(key.clone(), r.clone());
                        variants.push(m);
                    }
                    if let Value::Object(inner) = value {
                        for inner_key in inner.keys() {
                            for r in &replacements {
                                let mut m = doc.clone();
                                m[key.as_str()][inner_key.as_str()] = r.clone();
                                variants.push(m);
                            }
                        }
                    }
                }
                for v in variants {
                    let record = nexus_core::RawRecord {
                        kind: kind.to_owned(),
                        body: Bytes::from(serde_json::to_vec(&v).unwrap()),
                        provider_user_id: Some("oura-user-5c1e9a".into()),
                        provider_notification_id: None,
                        fetched_at: Some(1_731_312_000_000),
                    };
                    if let Ok(out) = OuraAdapter.normalize(&record, &NormalizeContext::default()) {
                        for item in out.items {
                            serde_json::to_string(&item.item).unwrap();
                        }
                    }
                    tried += 1;
                }
            }
        }
    }
    assert!(tried > 1000, "{tried}");
}
