//! Runs every recorded case in `cases/` through the adapter as the gateway would (verify, parse,
//! fetch against the case's recorded exchanges, normalize, the nexus-core dedupe engine with one
//! state per case) and checks each step's outcome: the expected error kind, nothing emitted for a
//! stale step, and the (event type, revision) of every emitted item against the table below.
//!
//! This is the adapter's own check that the cases say what they claim; the reviewed envelope
//! snapshots belong to the conformance harness.

// Test code: a broken case file or a wrong outcome must fail the test loudly, so unwrap and panic
// are the right tools here (the lints guard provider input in library code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use nexus_adapter_junction::JunctionAdapter;
use nexus_core::dedupe::{StoredState, apply_batch};
use nexus_core::http::{HttpClient, HttpRequest, HttpResponse};
use nexus_core::{Adapter, FetchContext, InboundRequest, Item, NormalizeContext, Secrets};
use serde_json::Value;

const BASE: &str = "http://replay.invalid";

/// Serves a step's recorded exchanges; a request matching none is an error naming it. A fake
/// standing in for the harness's loopback server.
struct FakeReplay {
    exchanges: Vec<Value>,
}

#[async_trait::async_trait]
impl HttpClient for FakeReplay {
    async fn send(&self, request: HttpRequest) -> nexus_core::Result<HttpResponse> {
        let path = request
            .url
            .strip_prefix(BASE)
            .unwrap_or(&request.url)
            .to_owned();
        for ex in &self.exchanges {
            let r = &ex["request"];
            if r["method"] == request.method.as_str() && r["path"] == path.as_str() {
                let resp = &ex["response"];
                let body = match &resp["body"] {
                    Value::String(s) => s.clone().into_bytes(),
                    other => serde_json::to_vec(other).unwrap(),
                };
                let headers = resp["headers"]
                    .as_object()
                    .map(|h| {
                        h.iter()
                            .map(|(k, v)| {
                                (k.to_lowercase(), v.as_str().unwrap_or_default().to_owned())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                return Ok(HttpResponse {
                    status: resp["status"].as_u64().unwrap() as u16,
                    headers,
                    body: Bytes::from(body),
                });
            }
        }
        panic!("no recorded exchange for {} {path}", request.method);
    }
}

/// (event type, revision) of every item emitted by one step.
type Emitted = Vec<(String, u32)>;

async fn run_step(
    step: &Value,
    secrets: &Secrets,
    provider_user_id: &str,
    states: &mut HashMap<String, StoredState>,
) -> Result<Vec<Item>, nexus_core::Error> {
    let req = &step["request"];
    let request = InboundRequest {
        method: req["method"].as_str().unwrap().to_owned(),
        path: req["path"].as_str().unwrap().to_owned(),
        query: req["query"].as_str().map(str::to_owned),
        headers: req["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.to_lowercase(), v.as_str().unwrap().to_owned()))
            .collect(),
        body: Bytes::from(req["body"].as_str().unwrap().to_owned()),
    };
    let now_ms = step["now_ms"].as_i64().unwrap();
    let adapter = JunctionAdapter;
    adapter.verify(&request, secrets, now_ms)?;
    let ctx = FetchContext {
        http: Arc::new(FakeReplay {
            exchanges: step["exchanges"].as_array().cloned().unwrap_or_default(),
        }),
        base_url: BASE.to_owned(),
        access_token: None,
        provider_user_id: Some(provider_user_id.to_owned()),
        secrets: secrets.clone(),
        now_ms,
    };
    let mut items = Vec::new();
    for n in adapter.parse(&request)? {
        for record in adapter.fetch(&n, &ctx).await? {
            let out = adapter.normalize(
                &record,
                &NormalizeContext {
                    provider_user_id: Some(provider_user_id.to_owned()),
                },
            )?;
            // Every referenced device is in the registry.
            for i in &out.items {
                if let Some(d) = &i.item.device_id {
                    assert!(
                        out.devices.iter().any(|x| &x.device_id == d),
                        "device {d} not listed"
                    );
                }
            }
            items.extend(apply_batch(states, out.items));
        }
    }
    Ok(items)
}

fn expected() -> HashMap<&'static str, Vec<Emitted>> {
    let e =
        |v: &[(&str, u32)]| -> Emitted { v.iter().map(|(t, r)| ((*t).to_owned(), *r)).collect() };
    let none = Emitted::new;
    HashMap::from([
        (
            "activity_revisions",
            vec![
                e(&[("daily_summary", 1)]),
                none(),
                e(&[("daily_summary", 2)]),
                none(),
            ],
        ),
        (
            "sleep_revision",
            vec![e(&[("sleep", 1)]), e(&[("sleep", 2)])],
        ),
        ("workouts_created", vec![e(&[("activity", 1)])]),
        ("body_created", vec![e(&[("body_measurement", 1)])]),
        ("profile_created", vec![e(&[("profile", 1)])]),
        ("meal_created", vec![e(&[("nutrition", 1)])]),
        (
            "menstrual_cycle_created",
            vec![e(&[("menstruation", 1); 4])],
        ),
        (
            "heartrate_overlapping_batches",
            vec![
                e(&[("heart_rate_series", 1)]),
                e(&[("heart_rate_series", 2), ("heart_rate_series", 1)]),
                none(),
            ],
        ),
        (
            "steps_bucket_update",
            vec![
                e(&[("steps_series", 1), ("steps_series", 1)]),
                e(&[("steps_series", 2)]),
            ],
        ),
        ("hrv_created", vec![e(&[("hrv_rmssd_series", 1)])]),
        (
            "hrv_sdnn_kept_apart",
            vec![e(&[("hrv_rmssd_series", 1)]), e(&[("hrv_sdnn_series", 1)])],
        ),
        (
            "calories_active_created",
            vec![e(&[("calories_series", 1)])],
        ),
        ("distance_created", vec![e(&[("distance_series", 1)])]),
        (
            "glucose_created",
            vec![e(&[("glucose_series", 1), ("glucose_series", 1)])],
        ),
        ("blood_oxygen_created", vec![e(&[("spo2_series", 1)])]),
        (
            "respiratory_rate_created",
            vec![e(&[("respiration_series", 1)])],
        ),
        (
            "temperature_created",
            vec![
                e(&[("temperature_series", 1)]),
                e(&[("temperature_series", 1)]),
            ],
        ),
        ("stress_level_created", vec![e(&[("stress_series", 1)])]),
        ("blood_pressure_created", vec![e(&[("blood_pressure", 1)])]),
        (
            "weight_and_fat_created",
            vec![e(&[("body_measurement", 1)]), e(&[("body_measurement", 1)])],
        ),
        ("calories_basal_acknowledged", vec![none()]),
        (
            "workout_stream_fetched",
            // HR windows 10:30, 10:45, 11:00; distance intervals start 10:35-10:55.
            vec![e(&[
                ("heart_rate_series", 1),
                ("heart_rate_series", 1),
                ("heart_rate_series", 1),
                ("distance_series", 1),
                ("distance_series", 1),
            ])],
        ),
        ("workout_stream_not_found", vec![none()]),
        ("workout_stream_rate_limited", vec![none()]),
        (
            "historical_pulls_completed",
            vec![e(&[("sync", 1)]), e(&[("sync", 1)])],
        ),
        (
            "connection_created_then_error",
            vec![e(&[("connection", 1)]), e(&[("connection", 2)])],
        ),
        ("bad_tampered_signature", vec![none()]),
        ("bad_stale_timestamp", vec![none()]),
        ("bad_malformed_body", vec![none()]),
        ("bad_unsupported_event", vec![none()]),
        ("bad_sample_unit", vec![none()]),
    ])
}

#[tokio::test]
async fn every_recorded_case_does_what_it_says() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
    let table = expected();
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let name = path.file_stem().unwrap().to_str().unwrap();
        let case: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let want = table
            .get(name)
            .unwrap_or_else(|| panic!("{name}: no expectation in the table"));
        let secrets: Secrets = serde_json::from_value(case["secrets"].clone()).unwrap();
        let user = case["connection"]["provider_user_id"].as_str().unwrap();
        let mut states = HashMap::new();
        let steps = case["steps"].as_array().unwrap();
        assert_eq!(steps.len(), want.len(), "{name}: step count");
        for (i, step) in steps.iter().enumerate() {
            let got = run_step(step, &secrets, user, &mut states).await;
            match (&step["expect"], got) {
                (Value::Object(o), Err(e)) => {
                    assert_eq!(
                        e.kind().as_str(),
                        o["error"].as_str().unwrap(),
                        "{name} step {i}: {e}"
                    );
                }
                (Value::Object(o), Ok(items)) => {
                    panic!("{name} step {i}: expected {o:?}, emitted {items:?}")
                }
                (_, Err(e)) => panic!("{name} step {i}: {e}"),
                (_, Ok(items)) => {
                    // `JUNCTION_CASES_DUMP=1 cargo test ... -- --nocapture` prints the items for review.
                    if std::env::var_os("JUNCTION_CASES_DUMP").is_some() {
                        eprintln!(
                            "== {name} step {i}\n{}",
                            serde_json::to_string_pretty(&items).unwrap()
                        );
                    }
                    let emitted: Emitted = items
                        .iter()
                        .map(|it| (it.event_type().as_str().to_owned(), it.revision))
                        .collect();
                    if step["stale"] == Value::Bool(true) {
                        assert!(
                            emitted.is_empty(),
                            "{name} step {i}: a stale step emitted {emitted:?}"
                        );
                    }
                    assert_eq!(emitted, want[i], "{name} step {i}");
                }
            }
        }
        seen += 1;
    }
    assert_eq!(seen, table.len(), "every expectation has a case file");
}
