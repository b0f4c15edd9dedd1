//! What the webhook sink sends is verified by the PyPI `standardwebhooks` 1.1.0 package, not by our
//! own code: `verify_standardwebhooks.py` receives the real HTTP requests on loopback and runs
//! `Webhook(secret).verify(body, headers)` on each. Needs `NEXUS_PYTHON` (see `oracle.rs`).

// Test helpers outside #[test] fns may unwrap and panic too: a broken fixture must stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use bytes::Bytes;
use nexus_core::{Delivery, DeliveryOutcome, Sink};
use nexus_sink_webhook::WebhookSink;
use nexus_sink_webhook::oracle::{StandardWebhooksReceiver, python_or_skip};

const OLD: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
// base64 of the 32 bytes "fake-rotated-secret-for-tests-01"
const NEW: &str = "whsec_ZmFrZS1yb3RhdGVkLXNlY3JldC1mb3ItdGVzdHMtMDE=";
// base64 of the 32 bytes "fake-wrong-secret-for-tests-0001"
const WRONG: &str = "whsec_ZmFrZS13cm9uZy1zZWNyZXQtZm9yLXRlc3RzLTAwMDE=";

const WAIT: Duration = Duration::from_secs(20);

fn sink(url: &str, secrets: &[&str]) -> WebhookSink {
    WebhookSink::from_json(&serde_json::json!({
        "kind": "webhook", "url": url, "secrets": secrets, "timeout_s": 10
    }))
    .unwrap()
}

fn envelope_body(i: usize) -> String {
    // Shaped like an envelope, with non-ASCII text so the UTF-8 round trip is exercised.
    serde_json::json!({
        "event_id": format!("0193f7d2-0000-7000-8000-00000000000{i}"),
        "schema_version": "1.1",
        "event_type": "sleep",
        "tenant_id": "tenant-a",
        "data": [{"note": "Schlafqualität ✓", "n": i}]
    })
    .to_string()
}

fn delivery(id: &str, body: &str) -> Delivery {
    Delivery {
        id: id.to_owned(),
        event_type: "sleep".to_owned(),
        tenant_id: "tenant-a".to_owned(),
        attempt: 1,
        body: Bytes::from(body.to_owned()),
    }
}

#[tokio::test]
async fn the_package_verifies_every_delivery_of_a_batch() {
    let Some(python) = python_or_skip("the_package_verifies_every_delivery_of_a_batch") else {
        return;
    };
    let receiver = StandardWebhooksReceiver::start(&python, &[OLD], 204).unwrap();
    let batch: Vec<Delivery> = (0..5)
        .map(|i| delivery(&format!("dlv_batch_{i}"), &envelope_body(i)))
        .collect();
    let out = sink(&receiver.url, &[OLD]).deliver(&batch).await;
    assert_eq!(out, vec![DeliveryOutcome::Delivered; 5]);
    let mut ids = Vec::new();
    for _ in 0..5 {
        let report = receiver.next_report(WAIT).expect("a report per request");
        assert_eq!(report["verified"], true, "{report}");
        assert_eq!(report["content_type"], "application/json");
        let id = report["webhook_id"].as_str().unwrap().to_owned();
        let i: usize = id.strip_prefix("dlv_batch_").unwrap().parse().unwrap();
        assert_eq!(report["body"].as_str().unwrap(), envelope_body(i));
        ids.push(id);
    }
    ids.sort();
    assert_eq!(
        ids,
        (0..5).map(|i| format!("dlv_batch_{i}")).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn during_rotation_either_secret_verifies() {
    let Some(python) = python_or_skip("during_rotation_either_secret_verifies") else {
        return;
    };
    for (receiver_secret, expected_index) in [(OLD, 0), (NEW, 0)] {
        let receiver = StandardWebhooksReceiver::start(&python, &[receiver_secret], 200).unwrap();
        let out = sink(&receiver.url, &[OLD, NEW])
            .deliver(&[delivery("dlv_rotate", &envelope_body(1))])
            .await;
        assert_eq!(out, vec![DeliveryOutcome::Delivered]);
        let report = receiver.next_report(WAIT).unwrap();
        assert_eq!(report["verified"], true, "{report}");
        assert_eq!(report["secret_index"], expected_index);
    }
}

#[tokio::test]
async fn the_package_refuses_a_signature_made_with_another_secret() {
    let Some(python) = python_or_skip("the_package_refuses_a_signature_made_with_another_secret")
    else {
        return;
    };
    let receiver = StandardWebhooksReceiver::start(&python, &[OLD], 204).unwrap();
    let out = sink(&receiver.url, &[WRONG])
        .deliver(&[delivery("dlv_wrong", &envelope_body(2))])
        .await;
    assert!(
        matches!(&out[0], DeliveryOutcome::Permanent { reason } if reason.contains("401")),
        "{out:?}"
    );
    let report = receiver.next_report(WAIT).unwrap();
    assert_eq!(report["verified"], false, "{report}");
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("No matching signature"),
        "{report}"
    );
}
