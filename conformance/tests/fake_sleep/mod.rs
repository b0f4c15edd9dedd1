//! FAKE adapter `fake_sleep` for the harness's own tests: a tiny fictional notify-then-fetch
//! provider (HMAC-signed webhooks with a timestamp, a challenge handshake, sleeps with heart-rate
//! samples fetched from its API, deletes pushed in the webhook). `FakeSleep { fault }` can be
//! deliberately broken in one way each, to show that the matching suite catches it.
//! Its recorded cases are in `cases/`, written by `cases/make_cases.py`.

use hmac::{Hmac, Mac};
use nexus_core::adapter::{AdapterDescriptor, Ingestion, SecretSpec, SignatureScheme};
use nexus_core::chunking::{SeriesSpec, chunk_samples};
use nexus_core::http::HttpRequest;
use nexus_core::identity::source_id;
use nexus_core::items::{Sample, Sleep};
use nexus_core::{
    Adapter, Error, ErrorKind, EventType, FetchContext, HandshakeResponse, InboundRequest, Item,
    ItemBody, NormalizeContext, Normalized, Notification, NotificationAction, RawRecord, Result,
    Secrets,
};
use serde_json::Value;
use sha2::Sha256;

pub const ID: &str = "fake_sleep";

/// The one thing a broken fake gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Correct.
    None,
    /// Drops the sleep `score` (always null).
    DropScore,
    /// Computes the sleep's `source_id` with the wrong event type.
    WrongSourceId,
    /// Panics when `score` is null.
    PanicOnNullScore,
    /// Writes 0 when `score` is missing or not a number (a stand-in, not the provider's value).
    ZeroForMissingScore,
    /// Puts the record's `updated_at` into its native id, so a new version is a new record and no
    /// revision is ever bumped.
    UnstableNativeId,
    /// Checks the headers and the timestamp but lets a signature mismatch through: accepts a
    /// tampered body.
    IgnoresSignatureMismatch,
    /// Sets the sleep's `device_id` without listing the device in `Normalized::devices`.
    UnlistedDevice,
    /// Composes its heart-rate chunks' native ids from the chunk index instead of the window start
    /// (`<user>:-:<index>`): `source_id`s agree with `provider_ref`, but not with EVENTS.md.
    ChunkIdWithoutWindow,
}

pub struct FakeSleep {
    pub fault: Fault,
}

static DESCRIPTOR: AdapterDescriptor = AdapterDescriptor {
    id: ID,
    display_name: "Fake Sleep (test fake)",
    event_types: &[
        EventType::Sleep,
        EventType::HeartRateSeries,
        EventType::Deletion,
    ],
    ingestion: Ingestion::NotifyThenFetch,
    signature: Some(SignatureScheme {
        name: "fake-hmac-sha256",
        headers: &["x-fake-signature", "x-fake-timestamp"],
        has_timestamp: true,
        default_tolerance: Some(std::time::Duration::from_secs(300)),
    }),
    secrets: &[
        SecretSpec {
            name: "webhook_secret",
            description: "HMAC key of webhook signatures",
            required: true,
        },
        SecretSpec {
            name: "verification_token",
            description: "token echoed in the subscription handshake",
            required: false,
        },
    ],
    api_base_url: Some("https://api.fake-sleep.invalid"),
    oauth: None,
    rate_limit: None,
    ack_deadline: None,
};

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a str> {
    v.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::malformed(ID, name, "missing or not a string"))
}

fn time(v: &Value, name: &str) -> Result<i64> {
    Ok(nexus_core::time::parse_rfc3339(ID, name, field(v, name)?)?.epoch_ms)
}

#[async_trait::async_trait]
impl Adapter for FakeSleep {
    fn descriptor(&self) -> &AdapterDescriptor {
        &DESCRIPTOR
    }

    fn verify(&self, request: &InboundRequest, secrets: &Secrets, now_ms: i64) -> Result<()> {
        let secret = secrets.require(ID, "webhook_secret")?;
        let ts = request
            .header("x-fake-timestamp")
            .ok_or_else(|| Error::invalid_signature(ID, "no x-fake-timestamp header"))?;
        let sig = request
            .header("x-fake-signature")
            .ok_or_else(|| Error::invalid_signature(ID, "no x-fake-signature header"))?;
        let sig =
            hex::decode(sig).map_err(|_| Error::invalid_signature(ID, "signature is not hex"))?;
        let ts_s: i64 = ts
            .parse()
            .map_err(|_| Error::invalid_signature(ID, "timestamp is not a number"))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|_| Error::new(ErrorKind::Config, "bad webhook secret"))?;
        mac.update(ts.as_bytes());
        mac.update(b".");
        mac.update(&request.body);
        let matches = mac.verify_slice(&sig).is_ok();
        if !matches && self.fault != Fault::IgnoresSignatureMismatch {
            return Err(Error::invalid_signature(ID, "signature does not match"));
        }
        if (now_ms / 1000 - ts_s).abs() > 300 {
            return Err(
                Error::new(ErrorKind::StaleTimestamp, "timestamp outside 300 s").with_provider(ID),
            );
        }
        Ok(())
    }

    fn handshake(
        &self,
        request: &InboundRequest,
        secrets: &Secrets,
    ) -> Option<Result<HandshakeResponse>> {
        if request.method != "GET" {
            return None;
        }
        let challenge = request.query_param("challenge")?;
        let token = request.query_param("verification_token");
        if token.is_none() || token.as_deref() != secrets.get("verification_token") {
            return Some(Err(Error::new(
                ErrorKind::Unauthorized,
                "wrong verification token",
            )
            .with_provider(ID)));
        }
        Some(Ok(HandshakeResponse {
            status: 200,
            content_type: "text/plain".to_owned(),
            body: challenge,
        }))
    }

    fn parse(&self, request: &InboundRequest) -> Result<Vec<Notification>> {
        let v: Value = serde_json::from_slice(&request.body)
            .map_err(|e| Error::malformed(ID, "body", e.to_string()))?;
        let kind = field(&v, "type")?;
        let sleep_id = field(&v, "sleep_id")?.to_owned();
        let user = field(&v, "user_id")?.to_owned();
        let (action, records) = match kind {
            "sleep.updated" => (NotificationAction::Update, Vec::new()),
            "sleep.deleted" => (
                NotificationAction::Delete,
                vec![RawRecord::new("sleep.deleted", request.body.clone())],
            ),
            other => return Err(Error::unsupported(ID, format!("event type {other:?}"))),
        };
        Ok(vec![Notification {
            provider_notification_id: v
                .get("notification_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            provider_user_id: Some(user),
            previous_provider_user_id: None,
            kind: kind.to_owned(),
            action,
            record_id: Some(sleep_id),
            range: None,
            event_ts: None,
            records,
        }])
    }

    async fn fetch(&self, n: &Notification, ctx: &FetchContext) -> Result<Vec<RawRecord>> {
        if !n.records.is_empty() {
            return Ok(n.records.clone());
        }
        let id = n
            .record_id
            .as_deref()
            .ok_or_else(|| Error::malformed(ID, "sleep_id", "missing"))?;
        let token = ctx.require_token(ID)?;
        let resp = ctx
            .http
            .send(HttpRequest::get(format!("{}/v1/sleep/{id}", ctx.base_url)).bearer(token))
            .await?
            .error_for_status(ID)?;
        let mut r = RawRecord::new("sleep", resp.body);
        r.provider_user_id = n.provider_user_id.clone();
        Ok(vec![r])
    }

    fn normalize(&self, record: &RawRecord, ctx: &NormalizeContext) -> Result<Normalized> {
        let v: Value = serde_json::from_slice(&record.body)
            .map_err(|e| Error::malformed(ID, "body", e.to_string()))?;
        let mut out = Normalized::default();
        match record.kind.as_str() {
            "sleep.deleted" => {
                let id = field(&v, "sleep_id")?;
                out.push(Item::deletion(
                    ID,
                    EventType::Sleep,
                    id,
                    time(&v, "deleted_at")?,
                ));
            }
            "sleep" => {
                let id = field(&v, "id")?;
                let user = ctx
                    .provider_user_id
                    .as_deref()
                    .ok_or_else(|| Error::malformed(ID, "user_id", "unknown provider user"))?;
                let start = time(&v, "start")?;
                let end = time(&v, "end")?;
                let updated = time(&v, "updated_at")?;
                let score = match v.get("score") {
                    _ if self.fault == Fault::ZeroForMissingScore => {
                        Some(v.get("score").and_then(Value::as_f64).unwrap_or(0.0))
                    }
                    None | Some(Value::Null) => None,
                    Some(s) => Some(
                        s.as_f64()
                            .ok_or_else(|| Error::malformed(ID, "score", "not a number"))?,
                    ),
                };
                let score = match self.fault {
                    Fault::DropScore => None,
                    // The deliberate fault of this fake.
                    #[allow(clippy::panic)] // the fake's deliberate fault
                    Fault::PanicOnNullScore if score.is_none() => panic!("score is null"),
                    _ => score,
                };
                let native = if self.fault == Fault::UnstableNativeId {
                    format!("{id}@{updated}")
                } else {
                    id.to_owned()
                };
                let sleep = Sleep {
                    start_ts: start,
                    end_ts: Some(end),
                    timezone: None,
                    utc_offset_s: None,
                    is_nap: None,
                    in_bed_s: Some(((end - start) / 1000) as f64),
                    asleep_s: None,
                    awake_s: None,
                    light_s: None,
                    deep_s: None,
                    rem_s: None,
                    latency_s: None,
                    efficiency_pct: None,
                    avg_heart_rate_bpm: None,
                    min_heart_rate_bpm: None,
                    avg_hrv_rmssd_ms: None,
                    avg_hrv_sdnn_ms: None,
                    avg_respiration_brpm: None,
                    avg_spo2_pct: None,
                    temp_deviation_c: None,
                    score,
                    stages: None,
                };
                let mut item = Item::new(ID, &native, start, ItemBody::Sleep(sleep));
                if self.fault == Fault::WrongSourceId {
                    item.source_id = source_id(EventType::Activity, ID, &native);
                }
                if self.fault == Fault::UnlistedDevice {
                    item.device_id = Some("fake-ring".to_owned());
                }
                out.push_versioned(item, Some(updated));
                let mut samples = Vec::new();
                for (i, s) in v
                    .get("hr")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let ts = time(s, "ts").map_err(|e| {
                        Error::malformed(ID, format!("hr[{i}].ts"), e.message().to_owned())
                    })?;
                    let bpm = s.get("bpm").and_then(Value::as_f64).ok_or_else(|| {
                        Error::malformed(ID, format!("hr[{i}].bpm"), "not a number")
                    })?;
                    samples.push(Sample::one(ts, bpm));
                }
                let spec = SeriesSpec::new(ID, EventType::HeartRateSeries, user);
                for mut chunk in chunk_samples(&spec, samples) {
                    if self.fault == Fault::ChunkIdWithoutWindow {
                        let index = chunk.body.chunk().and_then(|c| c.chunk_index);
                        let native = format!("{user}:-:{}", index.unwrap_or(0));
                        chunk = Item::new(ID, &native, chunk.payload_ts, chunk.body);
                    }
                    out.push_versioned(chunk, Some(updated));
                }
            }
            other => return Err(Error::unsupported(ID, format!("record kind {other:?}"))),
        }
        Ok(out)
    }
}
