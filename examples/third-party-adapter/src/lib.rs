//! Nexus adapter for Acme, a fictional wearable provider: the example of a third-party adapter
//! (see `docs/adapter-guide.md` in the Nexus repository).
//!
//! Acme pushes signed webhooks that carry the data:
//!
//! | Acme event | Nexus event type | native id |
//! |---|---|---|
//! | `workout.created`, `workout.updated` | `activity` | the workout `id` |
//! | `workout.deleted` | `deletion` of the `activity` | the workout `id` |
//! | `daily.updated` | `daily_summary` | `<user_id>:<date>` |
//!
//! Signature: header `acme-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
//! with the app's `webhook_secret` (several `v1=` during a secret rotation), at most 300 s old.

mod normalize;
mod signature;

use std::time::Duration;

use nexus_core::adapter::{AdapterDescriptor, Ingestion, SecretSpec, SignatureScheme};
use nexus_core::{
    Adapter, Error, EventType, InboundRequest, NormalizeContext, Normalized, Notification,
    NotificationAction, RawRecord, Result, Secrets,
};
use serde_json::Value;

/// The provider id.
pub const ID: &str = "acme";

/// The Acme adapter.
pub struct AcmeAdapter;

static DESCRIPTOR: AdapterDescriptor = AdapterDescriptor {
    id: ID,
    display_name: "Acme",
    event_types: &[
        EventType::Activity,
        EventType::DailySummary,
        EventType::Deletion,
    ],
    ingestion: Ingestion::Push,
    signature: Some(SignatureScheme {
        name: "acme-hmac-sha256",
        headers: &["acme-signature"],
        has_timestamp: true,
        default_tolerance: Some(Duration::from_secs(300)),
    }),
    secrets: &[SecretSpec {
        name: "webhook_secret",
        description: "the signing secret of the Acme webhook endpoint",
        required: true,
    }],
    api_base_url: None,
    oauth: None,
    rate_limit: None,
    ack_deadline: Some(Duration::from_secs(10)),
};

nexus_core::register_adapter!(AcmeAdapter);

#[async_trait::async_trait]
impl Adapter for AcmeAdapter {
    fn descriptor(&self) -> &AdapterDescriptor {
        &DESCRIPTOR
    }

    fn verify(&self, request: &InboundRequest, secrets: &Secrets, now_ms: i64) -> Result<()> {
        signature::verify(request, secrets, now_ms)
    }

    fn parse(&self, request: &InboundRequest) -> Result<Vec<Notification>> {
        let body: Value = serde_json::from_slice(&request.body)
            .map_err(|e| Error::malformed(ID, "body", format!("not JSON: {e}")))?;
        let event = normalize::str_field(&body, "", "event")?;
        let (kind, action) = match event {
            "workout.created" => ("workout", NotificationAction::Create),
            "workout.updated" => ("workout", NotificationAction::Update),
            "workout.deleted" => ("workout.deleted", NotificationAction::Delete),
            "daily.updated" => ("daily", NotificationAction::Update),
            other => return Err(Error::unsupported(ID, format!("event {other:?}"))),
        };
        let user = normalize::str_field(&body, "", "user_id")?.to_owned();
        let data = body
            .get("data")
            .filter(|d| d.is_object())
            .ok_or_else(|| Error::malformed(ID, "data", "missing or not an object"))?;
        let mut record = RawRecord::new(
            kind,
            serde_json::to_vec(data).map_err(|e| Error::malformed(ID, "data", e.to_string()))?,
        );
        record.provider_user_id = Some(user.clone());
        let id = body
            .get("event_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        record.provider_notification_id = id.clone();
        Ok(vec![Notification {
            provider_notification_id: id,
            provider_user_id: Some(user),
            previous_provider_user_id: None,
            kind: kind.to_owned(),
            action,
            record_id: data.get("id").and_then(Value::as_str).map(str::to_owned),
            range: None,
            event_ts: None,
            records: vec![record],
        }])
    }

    fn normalize(&self, record: &RawRecord, ctx: &NormalizeContext) -> Result<Normalized> {
        let data: Value = serde_json::from_slice(&record.body)
            .map_err(|e| Error::malformed(ID, "data", format!("not JSON: {e}")))?;
        match record.kind.as_str() {
            "workout" => normalize::workout(&data),
            "workout.deleted" => normalize::workout_deleted(&data),
            "daily" => {
                let user = record
                    .provider_user_id
                    .as_deref()
                    .or(ctx.provider_user_id.as_deref())
                    .ok_or_else(|| Error::malformed(ID, "user_id", "unknown provider user"))?;
                normalize::daily(&data, user)
            }
            other => Err(Error::unsupported(ID, format!("record kind {other:?}"))),
        }
    }
}
