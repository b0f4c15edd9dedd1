//! The webhook sink against a loopback receiver (axum on 127.0.0.1): headers, signatures, status
//! classification, redirects, timeouts, transport errors and concurrency within a batch.

// Test helpers outside #[test] fns may unwrap and panic too: a broken fixture must stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use nexus_core::{Delivery, DeliveryOutcome, Sink};
use nexus_sink_webhook::{WebhookSecret, WebhookSink};

const SECRET_A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_B: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// What the fake receiver answers, chosen from the request body.
type Answer = Arc<dyn Fn(&[u8]) -> Response + Send + Sync>;

struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn receiver(answer: Answer) -> Receiver {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = Arc::clone(&seen);
    let app = Router::new().fallback(
        move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let log = Arc::clone(&log);
            let answer = Arc::clone(&answer);
            async move {
                log.lock().unwrap().push(Seen {
                    path: uri.path().to_owned(),
                    headers,
                    body: body.clone(),
                });
                answer(&body)
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver {
        url: format!("http://{addr}/hooks"),
        seen,
    }
}

fn status(code: u16) -> Answer {
    Arc::new(move |_| StatusCode::from_u16(code).unwrap().into_response())
}

fn sink(url: &str, extra: serde_json::Value) -> WebhookSink {
    let mut config = serde_json::json!({"kind": "webhook", "url": url, "secrets": [SECRET_A]});
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    WebhookSink::from_json(&config).unwrap()
}

fn delivery(id: &str, attempt: u32, body: &str) -> Delivery {
    Delivery {
        id: id.to_owned(),
        event_type: "sleep".to_owned(),
        tenant_id: "tenant-a".to_owned(),
        attempt,
        body: Bytes::from(body.to_owned()),
    }
}

fn header<'a>(seen: &'a Seen, name: &str) -> &'a str {
    seen.headers
        .get(name)
        .unwrap_or_else(|| panic!("header {name} missing"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn a_delivery_is_posted_signed_with_the_exact_body() {
    let r = receiver(status(204)).await;
    let body = r#"{"event_id":"e1","data":[{"x":"é"}]}"#;
    let outcome = sink(&r.url, serde_json::json!({}))
        .deliver(&[delivery("dlv_01", 1, body)])
        .await;
    assert_eq!(outcome, vec![DeliveryOutcome::Delivered]);
    let seen = r.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.path, "/hooks");
    assert_eq!(&s.body[..], body.as_bytes());
    assert_eq!(header(s, "content-type"), "application/json");
    assert_eq!(header(s, "webhook-id"), "dlv_01");
    let ts: i64 = header(s, "webhook-timestamp").parse().unwrap();
    let now = jiff::Timestamp::now().as_second();
    assert!((now - ts).abs() <= 5, "timestamp {ts} is not now ({now})");
    let expected = WebhookSecret::parse(SECRET_A)
        .unwrap()
        .sign("dlv_01", ts, body.as_bytes());
    assert_eq!(header(s, "webhook-signature"), expected);
}

#[tokio::test]
async fn the_id_is_stable_across_attempts_and_rotation_signs_twice() {
    let r = receiver(status(200)).await;
    let sink = sink(&r.url, serde_json::json!({"secrets": [SECRET_A, SECRET_B]}));
    assert_eq!(
        sink.deliver(&[delivery("dlv_same", 1, "{}")]).await,
        vec![DeliveryOutcome::Delivered]
    );
    assert_eq!(
        sink.deliver(&[delivery("dlv_same", 2, "{}")]).await,
        vec![DeliveryOutcome::Delivered]
    );
    let seen = r.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(header(s, "webhook-id"), "dlv_same");
        let ts: i64 = header(s, "webhook-timestamp").parse().unwrap();
        let sigs: Vec<&str> = header(s, "webhook-signature").split(' ').collect();
        let a = WebhookSecret::parse(SECRET_A)
            .unwrap()
            .sign("dlv_same", ts, b"{}");
        let b = WebhookSecret::parse(SECRET_B)
            .unwrap()
            .sign("dlv_same", ts, b"{}");
        assert_eq!(sigs, vec![a.as_str(), b.as_str()]);
    }
}

#[tokio::test]
async fn statuses_are_classified() {
    let r = receiver(Arc::new(|body: &[u8]| {
        match std::str::from_utf8(body).unwrap() {
            "gone" => StatusCode::GONE.into_response(),
            "slow-down" => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "30")]).into_response(),
            "broken" => (StatusCode::SERVICE_UNAVAILABLE, "fake upstream down").into_response(),
            "bad" => (StatusCode::BAD_REQUEST, "no thanks").into_response(),
            "unauthorized" => StatusCode::UNAUTHORIZED.into_response(),
            _ => StatusCode::ACCEPTED.into_response(),
        }
    }))
    .await;
    let batch = ["ok", "gone", "slow-down", "broken", "bad", "unauthorized"]
        .iter()
        .enumerate()
        .map(|(i, b)| delivery(&format!("dlv_{i}"), 1, b))
        .collect::<Vec<_>>();
    let out = sink(&r.url, serde_json::json!({})).deliver(&batch).await;
    assert_eq!(out.len(), 6);
    assert_eq!(out[0], DeliveryOutcome::Delivered);
    assert!(
        matches!(out[1], DeliveryOutcome::Disable { .. }),
        "{:?}",
        out[1]
    );
    assert!(
        matches!(&out[2], DeliveryOutcome::Retry { after: Some(d), .. } if *d == Duration::from_secs(30)),
        "{:?}",
        out[2]
    );
    match &out[3] {
        DeliveryOutcome::Retry {
            after: None,
            reason,
        } => {
            assert!(
                reason.contains("503") && reason.contains("fake upstream down"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&out[4], DeliveryOutcome::Permanent { reason } if reason.contains("400")));
    assert!(matches!(&out[5], DeliveryOutcome::Permanent { reason } if reason.contains("401")));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let target = receiver(status(200)).await;
    let location = target.url.clone();
    let r = receiver(Arc::new(move |_: &[u8]| {
        (
            StatusCode::TEMPORARY_REDIRECT,
            [("location", location.clone())],
        )
            .into_response()
    }))
    .await;
    let out = sink(&r.url, serde_json::json!({}))
        .deliver(&[delivery("dlv_r", 1, "{}")])
        .await;
    assert!(
        matches!(&out[0], DeliveryOutcome::Permanent { reason } if reason.contains("307")),
        "{out:?}"
    );
    assert_eq!(r.seen.lock().unwrap().len(), 1);
    assert!(
        target.seen.lock().unwrap().is_empty(),
        "the redirect was followed"
    );
}

#[tokio::test]
async fn a_slow_receiver_times_out_and_is_retried() {
    let seen: Arc<Mutex<u32>> = Arc::default();
    let count = Arc::clone(&seen);
    let app = Router::new().fallback(move || {
        let count = Arc::clone(&count);
        async move {
            *count.lock().unwrap() += 1;
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let out = sink(&url, serde_json::json!({"timeout_s": 0.3}))
        .deliver(&[delivery("dlv_t", 1, "{}")])
        .await;
    match &out[0] {
        DeliveryOutcome::Retry {
            after: None,
            reason,
        } => {
            assert!(reason.contains("timeout"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(*seen.lock().unwrap(), 1);
}

#[tokio::test]
async fn a_closed_port_is_retryable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hook?token=fake-token");
    let out = sink(&url, serde_json::json!({}))
        .deliver(&[delivery("dlv_c", 1, "{}")])
        .await;
    match &out[0] {
        DeliveryOutcome::Retry { reason, .. } => {
            assert!(!reason.contains("fake-token"), "{reason}");
            assert!(reason.contains("127.0.0.1"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_batch_is_sent_concurrently_and_answers_in_order() {
    // The receiver holds every request until all 8 are in flight at once: this only completes when
    // the sink sends them concurrently.
    const N: usize = 8;
    let barrier = Arc::new(tokio::sync::Barrier::new(N));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&seen);
    let app = Router::new().fallback(move |body: Bytes| {
        let barrier = Arc::clone(&barrier);
        let log = Arc::clone(&log);
        async move {
            barrier.wait().await;
            let text = String::from_utf8(body.to_vec()).unwrap();
            log.lock().unwrap().push(text.clone());
            if text.ends_with('3') || text.ends_with('6') {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let batch: Vec<Delivery> = (0..N)
        .map(|i| delivery(&format!("dlv_{i}"), 1, &format!("body-{i}")))
        .collect();
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        sink(&url, serde_json::json!({"max_concurrency": N})).deliver(&batch),
    )
    .await
    .expect("the batch was not sent concurrently");
    for (i, o) in out.iter().enumerate() {
        if i == 3 || i == 6 {
            assert!(matches!(o, DeliveryOutcome::Retry { .. }), "{i}: {o:?}");
        } else {
            assert_eq!(o, &DeliveryOutcome::Delivered, "{i}");
        }
    }
    assert_eq!(seen.lock().unwrap().len(), N);
}

#[tokio::test]
async fn an_id_that_would_break_the_signed_content_is_refused_unsent() {
    let r = receiver(status(200)).await;
    let out = sink(&r.url, serde_json::json!({}))
        .deliver(&[delivery("a.b", 1, "{}")])
        .await;
    assert!(matches!(out[0], DeliveryOutcome::Permanent { .. }));
    assert!(r.seen.lock().unwrap().is_empty());
}
