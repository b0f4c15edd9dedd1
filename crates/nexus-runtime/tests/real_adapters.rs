//! The pipeline with the real Terra, Junction and Oura adapters, driven by their recorded cases
//! (`adapters/<id>/cases/*.json`, docs/recorded-cases.md).
//!
//! For every case whose steps all expect envelopes, each step's request is verified at the
//! step's clock, enqueued into a runtime on SQLite (provider API calls answered from the step's
//! recorded exchanges by a fake API), and the (event_type, source_id, revision) of what the
//! runtime delivers must equal what an independent in-memory run of the same adapter through
//! `nexus_core::dedupe` emits. Cases expecting a processing error must end quarantined with that
//! error kind (permanent) or be retried (retryable), never dropped.
// Test code: a failed expectation panics (clippy sees helpers outside #[test] fns as non-test).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nexus_core::{
    Adapter, ErrorKind, FetchContext, InboundRequest, NormalizeContext, Secrets, dedupe,
};
use nexus_runtime::store::{DeliveryFilter, DeliveryState};
use nexus_runtime::{NewConnection, Runtime, Tokens};
use serde_json::Value;
use support::*;

// Link the adapters so their registrations are seen.
use nexus_adapter_junction as _;
use nexus_adapter_oura as _;
use nexus_adapter_terra as _;

const FAKE_BASE: &str = "http://fake-provider-api.invalid";

type Emitted = BTreeSet<(String, String, u32)>;

fn cases(provider: &str) -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../adapters")
        .join(provider)
        .join("cases");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            out.push((path.file_name().unwrap().to_string_lossy().into_owned(), v));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn request_of(step: &Value) -> InboundRequest {
    let r = &step["request"];
    let body = match (r["body"].as_str(), r["body_base64"].as_str()) {
        (Some(s), _) => Bytes::from(s.to_owned()),
        (None, Some(b)) => {
            use base64::Engine as _;
            Bytes::from(base64::engine::general_purpose::STANDARD.decode(b).unwrap())
        }
        _ => Bytes::new(),
    };
    InboundRequest {
        method: r["method"].as_str().unwrap().to_owned(),
        path: r["path"].as_str().unwrap().to_owned(),
        query: r["query"].as_str().map(str::to_owned),
        headers: r["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap().to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        body,
    }
}

fn exchanges_of(step: &Value) -> Vec<FakeExchange> {
    step["exchanges"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| FakeExchange {
                    method: x["request"]["method"].as_str().unwrap().to_owned(),
                    path: x["request"]["path"].as_str().unwrap().to_owned(),
                    status: u16::try_from(x["response"]["status"].as_u64().unwrap()).unwrap(),
                    headers: x["response"]["headers"]
                        .as_object()
                        .map(|h| {
                            h.iter()
                                .map(|(k, v)| {
                                    (k.to_ascii_lowercase(), v.as_str().unwrap_or("").to_owned())
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    body: match &x["response"]["body"] {
                        Value::String(s) => Bytes::from(s.clone()),
                        Value::Null => Bytes::new(),
                        v => Bytes::from(serde_json::to_vec(v).unwrap()),
                    },
                })
                .collect()
        })
        .unwrap_or_default()
}

fn secrets_of(case: &Value) -> Secrets {
    let mut s = Secrets::new();
    if let Some(m) = case["secrets"].as_object() {
        for (k, v) in m {
            s.insert(k, v.as_str().unwrap().to_owned());
        }
    }
    s
}

/// The oracle: the adapter alone, in memory, one dedupe state across the case's steps.
async fn oracle(adapter: &dyn Adapter, case: &Value) -> Vec<Emitted> {
    let conn = &case["connection"];
    let puid = conn["provider_user_id"].as_str().map(str::to_owned);
    let mut states = HashMap::new();
    let mut out = Vec::new();
    for step in case["steps"].as_array().unwrap() {
        let api = Arc::new(FakeProviderApi::default());
        api.set(exchanges_of(step));
        let ctx = FetchContext {
            http: api,
            base_url: FAKE_BASE.to_owned(),
            access_token: conn["access_token"].as_str().map(str::to_owned),
            provider_user_id: puid.clone(),
            secrets: secrets_of(case),
            now_ms: step["now_ms"].as_i64().unwrap(),
        };
        let mut items = Vec::new();
        for n in adapter.parse(&request_of(step)).unwrap() {
            for r in adapter.fetch(&n, &ctx).await.unwrap() {
                let norm = adapter
                    .normalize(
                        &r,
                        &NormalizeContext {
                            provider_user_id: puid.clone(),
                        },
                    )
                    .unwrap();
                items.extend(norm.items);
            }
        }
        let emitted = dedupe::apply_batch(&mut states, items);
        out.push(
            emitted
                .iter()
                .map(|i| {
                    (
                        i.event_type().as_str().to_owned(),
                        i.source_id.clone(),
                        i.revision,
                    )
                })
                .collect(),
        );
    }
    out
}

fn fast_backoff(_attempts: u32, _retry_after: Option<Duration>) -> Duration {
    Duration::from_millis(50)
}

struct Harness {
    rt: Runtime,
    api: Arc<FakeProviderApi>,
    sink: Arc<FakeRecordingSink>,
    _dir: tempfile::TempDir,
}

async fn harness(provider: &str, case: &Value) -> Harness {
    let conn = &case["connection"];
    let tenant = conn["tenant_id"].as_str().unwrap();
    let mut toml_text = format!(
        "[providers.{provider}]\nbase_url = \"{FAKE_BASE}\"\n[tenants.{tenant:?}.sinks.main]\nkind = \"stdout\"\n"
    );
    for (k, v) in case["secrets"].as_object().into_iter().flatten() {
        toml_text = toml_text.replacen(
            &format!("[providers.{provider}]\n"),
            &format!("[providers.{provider}]\n{k} = {v}\n"),
            1,
        );
    }
    let (store, dir) = temp_store();
    let api = Arc::new(FakeProviderApi::default());
    let sink = FakeRecordingSink::new();
    let adapter = nexus_core::registry::adapter(provider).unwrap();
    let rt = Runtime::builder(config(&toml_text), store)
        .adapters(vec![adapter])
        .http(api.clone())
        .cipher(test_cipher())
        .sink(tenant, "main", sink.clone())
        .processing_backoff(fast_backoff)
        .build()
        .await
        .unwrap();
    if let Some(puid) = conn["provider_user_id"].as_str() {
        rt.connect(NewConnection {
            tenant_id: tenant.to_owned(),
            user_id: conn["user_id"].as_str().unwrap().to_owned(),
            external_user_ref: conn["external_user_ref"].as_str().unwrap().to_owned(),
            provider: provider.to_owned(),
            provider_user_id: puid.to_owned(),
            tokens: conn["access_token"].as_str().map(|t| Tokens {
                access_token: t.to_owned(),
                refresh_token: None,
                expires_at: None,
            }),
        })
        .await
        .unwrap();
    }
    rt.spawn_workers();
    Harness {
        rt,
        api,
        sink,
        _dir: dir,
    }
}

async fn wait_outbox_drained(rt: &Runtime) {
    wait_until("the outbox to drain", || async {
        rt.store()
            .deliveries(&DeliveryFilter {
                state: Some(DeliveryState::Pending),
                limit: 1,
                ..DeliveryFilter::default()
            })
            .await
            .unwrap()
            .is_empty()
    })
    .await;
}

fn emitted_of(envelopes: &[Value]) -> Emitted {
    envelopes
        .iter()
        .flat_map(|e| {
            e["data"].as_array().unwrap().iter().map(|i| {
                (
                    i["event_type"].as_str().unwrap().to_owned(),
                    i["source_id"].as_str().unwrap().to_owned(),
                    u32::try_from(i["revision"].as_u64().unwrap()).unwrap(),
                )
            })
        })
        .collect()
}

fn expects_envelopes(case: &Value) -> bool {
    case["steps"].as_array().unwrap().iter().all(|s| {
        s["request"]["method"] == "POST" && s.get("expect").is_none_or(|e| e == "envelopes")
    })
}

/// Returns (cases run, items delivered).
async fn run_envelope_cases(provider: &str) -> (usize, usize) {
    let adapter = nexus_core::registry::adapter(provider).unwrap();
    let mut ran = 0;
    let mut items = 0;
    for (name, case) in cases(provider) {
        if !expects_envelopes(&case) {
            continue;
        }
        let expected = oracle(adapter, &case).await;
        let h = harness(provider, &case).await;
        let secrets = secrets_of(&case);
        let conn = &case["connection"];
        let mut seen_so_far = 0;
        for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            let req = request_of(step);
            adapter
                .verify(&req, &secrets, step["now_ms"].as_i64().unwrap())
                .unwrap_or_else(|e| panic!("{name} step {i}: verify: {e}"));
            h.api.set(exchanges_of(step));
            h.rt.enqueue(provider, req).await.unwrap();
            wait_inbox_drained(&h.rt).await;
            wait_outbox_drained(&h.rt).await;
            let all = h.sink.delivered_envelopes();
            let new = &all[seen_so_far..];
            seen_so_far = all.len();
            items += emitted_of(new).len();
            assert_eq!(
                emitted_of(new),
                expected[i],
                "{provider}/{name} step {i}: delivered items differ from the adapter's own output"
            );
            for e in new {
                assert_eq!(e["provider"], provider);
                assert_eq!(e["tenant_id"], conn["tenant_id"]);
                assert_eq!(e["external_user_ref"], conn["external_user_ref"]);
            }
        }
        let q = h.rt.store().quarantined(10).await.unwrap();
        assert!(
            q.is_empty(),
            "{provider}/{name}: quarantined {:?}",
            q[0].reason
        );
        h.rt.shutdown().await;
        ran += 1;
    }
    (ran, items)
}

/// Cases whose (single) step expects a processing error: permanent kinds end in the quarantine
/// with that kind, retryable kinds are retried; verification failures belong to the ingress.
async fn run_error_cases(provider: &str) -> usize {
    let adapter = nexus_core::registry::adapter(provider).unwrap();
    let mut ran = 0;
    for (name, case) in cases(provider) {
        let steps = case["steps"].as_array().unwrap();
        let Some(kind) = steps
            .last()
            .and_then(|s| s["expect"]["error"].as_str())
            .and_then(ErrorKind::parse)
        else {
            continue;
        };
        if steps.len() != 1 || steps[0]["request"]["method"] != "POST" {
            continue;
        }
        let step = &steps[0];
        let req = request_of(step);
        if adapter
            .verify(&req, &secrets_of(&case), step["now_ms"].as_i64().unwrap())
            .is_err()
        {
            continue; // refused at the ingress (401), never stored
        }
        let h = harness(provider, &case).await;
        h.api.set(exchanges_of(step));
        h.rt.enqueue(provider, req).await.unwrap();
        if kind.default_status() == nexus_core::ErrorStatus::Permanent {
            wait_until(&format!("{provider}/{name} quarantined"), || async {
                !h.rt.store().quarantined(1).await.unwrap().is_empty()
            })
            .await;
            let q = h.rt.store().quarantined(1).await.unwrap();
            assert_eq!(q[0].reason.kind, kind.as_str(), "{provider}/{name}");
        } else {
            wait_until(&format!("{provider}/{name} retried"), || async {
                h.rt.metrics().counter(
                    "requests_retried_total",
                    &[("provider", provider), ("kind", kind.as_str())],
                ) >= 1
            })
            .await;
            assert!(h.rt.store().quarantined(1).await.unwrap().is_empty());
        }
        assert!(
            h.sink.seen().is_empty(),
            "{provider}/{name}: nothing delivered"
        );
        h.rt.shutdown().await;
        ran += 1;
    }
    ran
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terra_cases_through_the_pipeline() {
    let (cases, items) = run_envelope_cases("terra").await;
    eprintln!("terra: {cases} cases, {items} items delivered");
    assert!(cases >= 10 && items >= cases);
    assert!(run_error_cases("terra").await >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oura_cases_through_the_pipeline() {
    let (cases, items) = run_envelope_cases("oura").await;
    eprintln!("oura: {cases} cases, {items} items delivered");
    assert!(cases >= 5 && items >= cases);
    assert!(run_error_cases("oura").await >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junction_cases_through_the_pipeline() {
    let (cases, items) = run_envelope_cases("junction").await;
    eprintln!("junction: {cases} cases, {items} items delivered");
    assert!(cases >= 10 && items >= cases);
    assert!(run_error_cases("junction").await >= 1);
}

// ---- OAuth token refresh, with the real Oura adapter ----

const FAKE_CLIENT_ID: &str = "fake-oura-client-id";
const FAKE_REFRESH: &str = "fake-oura-refresh-token-1";

fn oura_case(file: &str) -> Value {
    cases("oura")
        .into_iter()
        .find(|(name, _)| name == file)
        .map(|(_, case)| case)
        .unwrap()
}

/// A gateway whose Oura connection holds `tokens`, with the app's client id and secret and the
/// token URL on the fake API.
async fn refresh_harness(case: &Value, tokens: Tokens) -> Harness {
    let conn = &case["connection"];
    let tenant = conn["tenant_id"].as_str().unwrap();
    let mut toml_text = format!(
        "[providers.oura]\nbase_url = \"{FAKE_BASE}\"\ntoken_url = \"{FAKE_BASE}/oauth/token\"\n\
         client_id = \"{FAKE_CLIENT_ID}\"\nclient_secret = \"fake-oura-client-secret\"\n"
    );
    for (k, v) in case["secrets"].as_object().into_iter().flatten() {
        toml_text.push_str(&format!("{k} = {v}\n"));
    }
    toml_text.push_str(&format!(
        "[tenants.{tenant:?}.sinks.main]\nkind = \"stdout\"\n"
    ));
    let (store, dir) = temp_store();
    let api = Arc::new(FakeProviderApi::default());
    let sink = FakeRecordingSink::new();
    let rt = Runtime::builder(config(&toml_text), store)
        .adapters(vec![nexus_core::registry::adapter("oura").unwrap()])
        .http(api.clone())
        .cipher(test_cipher())
        .sink(tenant, "main", sink.clone())
        .processing_backoff(fast_backoff)
        .build()
        .await
        .unwrap();
    rt.connect(NewConnection {
        tenant_id: tenant.to_owned(),
        user_id: conn["user_id"].as_str().unwrap().to_owned(),
        external_user_ref: conn["external_user_ref"].as_str().unwrap().to_owned(),
        provider: "oura".to_owned(),
        provider_user_id: conn["provider_user_id"].as_str().unwrap().to_owned(),
        tokens: Some(tokens),
    })
    .await
    .unwrap();
    rt.spawn_workers();
    Harness {
        rt,
        api,
        sink,
        _dir: dir,
    }
}

/// An access token that expired a second ago, with its refresh token.
fn expired_tokens() -> Tokens {
    Tokens {
        access_token: "fake-expired-access-token".into(),
        refresh_token: Some(FAKE_REFRESH.into()),
        expires_at: Some(nexus_runtime::now_ms() - 1_000),
    }
}

fn token_exchange(status: u16, body: Value) -> FakeExchange {
    FakeExchange {
        method: "POST".into(),
        path: "/oauth/token".into(),
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: Bytes::from(body.to_string()),
    }
}

/// The connection's tokens as stored, unsealed.
async fn stored_tokens(
    h: &Harness,
    case: &Value,
) -> (nexus_runtime::store::ConnectionRecord, Tokens) {
    let puid = case["connection"]["provider_user_id"].as_str().unwrap();
    let conn =
        h.rt.store()
            .connection_for("oura", puid)
            .await
            .unwrap()
            .unwrap();
    let tokens = test_cipher()
        .open(conn.sealed_tokens.as_deref().unwrap())
        .unwrap();
    (conn, tokens)
}

fn header<'a>(r: &'a nexus_core::http::HttpRequest, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Oura access tokens last a day. One that has expired is refreshed before the fetch: the token
/// URL gets the refresh token and the app's credentials as a form, the new tokens are stored
/// (sealed) before they are used, and the fetch carries the new access token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_oura_access_token_is_refreshed_before_the_fetch() {
    let case = oura_case("daily-activity-created.json");
    let step = &case["steps"][0];
    let h = refresh_harness(&case, expired_tokens()).await;
    let mut exchanges = exchanges_of(step);
    // The case's API exchange expects the access token the refresh hands out.
    exchanges.push(token_exchange(
        200,
        serde_json::json!({
            "token_type": "bearer",
            "access_token": "fake-oura-access-token",
            "refresh_token": "fake-oura-refresh-token-2",
            "expires_in": 86_400,
        }),
    ));
    h.api.set(exchanges);
    let before = nexus_runtime::now_ms();
    h.rt.enqueue("oura", request_of(step)).await.unwrap();
    wait_inbox_drained(&h.rt).await;
    wait_outbox_drained(&h.rt).await;
    assert_eq!(h.sink.delivered_envelopes().len(), 1, "the day's activity");

    let requests = h.api.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let (post, get) = (&requests[0], &requests[1]);
    assert_eq!(
        (post.method.as_str(), post.url.as_str()),
        ("POST", "http://fake-provider-api.invalid/oauth/token")
    );
    assert_eq!(
        header(post, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        std::str::from_utf8(post.body.as_deref().unwrap()).unwrap(),
        "grant_type=refresh_token&refresh_token=fake-oura-refresh-token-1\
         &client_id=fake-oura-client-id&client_secret=fake-oura-client-secret"
    );
    assert_eq!(
        header(get, "authorization"),
        Some("Bearer fake-oura-access-token")
    );

    let (_, stored) = stored_tokens(&h, &case).await;
    assert_eq!(stored.access_token, "fake-oura-access-token");
    assert_eq!(
        stored.refresh_token.as_deref(),
        Some("fake-oura-refresh-token-2")
    );
    let at = stored.expires_at.unwrap();
    assert!(
        at >= before + 86_400_000 && at <= nexus_runtime::now_ms() + 86_400_000,
        "{at}"
    );
    assert_eq!(
        h.rt.metrics().counter(
            "token_refreshes_total",
            &[("provider", "oura"), ("outcome", "refreshed")]
        ),
        1
    );
    h.rt.shutdown().await;
}

/// A token the provider refuses before its known expiry (revoked early, or no `expires_at`) is
/// refreshed once after the 401, and the fetch is tried again with the new one. A provider that
/// sends no new refresh token leaves the old one in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_access_token_is_refreshed_once_and_the_fetch_retried() {
    let case = oura_case("daily-activity-created.json");
    let step = &case["steps"][0];
    let h = refresh_harness(
        &case,
        Tokens {
            access_token: "fake-revoked-access-token".into(),
            refresh_token: Some(FAKE_REFRESH.into()),
            expires_at: None,
        },
    )
    .await;
    let ok = exchanges_of(step);
    let mut refused = ok[0].clone();
    refused.status = 401;
    refused.body = Bytes::from_static(b"{\"detail\":\"fake: token revoked\"}");
    let mut exchanges = vec![refused];
    exchanges.extend(ok);
    exchanges.push(token_exchange(
        200,
        serde_json::json!({"access_token": "fake-oura-access-token"}),
    ));
    h.api.set(exchanges);
    h.rt.enqueue("oura", request_of(step)).await.unwrap();
    wait_inbox_drained(&h.rt).await;
    wait_outbox_drained(&h.rt).await;
    assert_eq!(h.sink.delivered_envelopes().len(), 1);
    let requests = h.api.requests();
    let seen: Vec<(&str, Option<&str>)> = requests
        .iter()
        .map(|r| (r.method.as_str(), header(r, "authorization")))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("GET", Some("Bearer fake-revoked-access-token")),
            ("POST", None),
            ("GET", Some("Bearer fake-oura-access-token")),
        ]
    );
    let (_, stored) = stored_tokens(&h, &case).await;
    assert_eq!(stored.access_token, "fake-oura-access-token");
    assert_eq!(stored.refresh_token.as_deref(), Some(FAKE_REFRESH));
    assert_eq!(stored.expires_at, None);
    h.rt.shutdown().await;
}

/// A refresh token the provider refuses (`invalid_grant`) cannot be fixed by trying again: the
/// request is quarantined (kept for a replay once the user has connected again), the connection
/// is marked revoked, and the error names the provider's code but never a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_token_quarantines_and_revokes_the_connection() {
    let case = oura_case("daily-activity-created.json");
    let step = &case["steps"][0];
    let h = refresh_harness(&case, expired_tokens()).await;
    let mut exchanges = exchanges_of(step);
    exchanges.push(token_exchange(
        400,
        serde_json::json!({"error": "invalid_grant", "error_description": "fake: refresh token used"}),
    ));
    h.api.set(exchanges);
    h.rt.enqueue("oura", request_of(step)).await.unwrap();
    wait_until("the request quarantined", || async {
        !h.rt.store().quarantined(1).await.unwrap().is_empty()
    })
    .await;
    let q = h.rt.store().quarantined(1).await.unwrap();
    assert_eq!(q[0].reason.kind, "unauthorized");
    let msg = &q[0].reason.message;
    assert!(
        msg.contains("invalid_grant") && msg.contains("connect again"),
        "{msg}"
    );
    assert!(
        !msg.contains(FAKE_REFRESH) && !msg.contains("fake-expired"),
        "{msg}"
    );
    let (conn, _) = stored_tokens(&h, &case).await;
    assert_eq!(conn.status, nexus_runtime::store::ConnectionStatus::Revoked);
    assert!(h.sink.seen().is_empty());
    assert!(
        h.api.requests().iter().all(|r| r.method == "POST"),
        "no fetch with the expired token"
    );
    h.rt.shutdown().await;
}
