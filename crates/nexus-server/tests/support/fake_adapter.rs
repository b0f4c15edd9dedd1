//! A FAKE provider adapter, `fake-signed`, registered only in the ingress test binary: it signs
//! with `x-fake-signature: hex(sha256(webhook_secret + "." + raw body))` and answers a handshake
//! `GET ?challenge=C&verification_token=T` with `{"challenge": C}` when T is the configured
//! `verification_token`.

use nexus_core::adapter::SecretSpec;
use nexus_core::{
    Adapter, AdapterDescriptor, Error, ErrorKind, HandshakeResponse, InboundRequest, Ingestion,
    NormalizeContext, Normalized, Notification, NotificationAction, RawRecord, Result, Secrets,
};
use sha2::{Digest, Sha256};

pub const ID: &str = "fake-signed";
pub const SIGNATURE_HEADER: &str = "x-fake-signature";

pub struct FakeSignedAdapter;

nexus_core::register_adapter!(FakeSignedAdapter);

static DESCRIPTOR: AdapterDescriptor = AdapterDescriptor {
    id: ID,
    display_name: "Fake (tests)",
    event_types: &[],
    ingestion: Ingestion::Push,
    signature: None,
    secrets: &[
        SecretSpec {
            name: "webhook_secret",
            description: "fake",
            required: true,
        },
        SecretSpec {
            name: "verification_token",
            description: "fake",
            required: false,
        },
    ],
    api_base_url: None,
    oauth: None,
    rate_limit: None,
    ack_deadline: None,
};

pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(secret.as_bytes());
    h.update(b".");
    h.update(body);
    hex::encode(h.finalize())
}

#[async_trait::async_trait]
impl Adapter for FakeSignedAdapter {
    fn descriptor(&self) -> &AdapterDescriptor {
        &DESCRIPTOR
    }

    fn verify(&self, request: &InboundRequest, secrets: &Secrets, _now_ms: i64) -> Result<()> {
        let secret = secrets.require(ID, "webhook_secret")?;
        let given = request
            .header(SIGNATURE_HEADER)
            .ok_or_else(|| Error::invalid_signature(ID, "no signature header"))?;
        if given != sign(secret, &request.body) {
            return Err(Error::invalid_signature(ID, "the signature does not match"));
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
            content_type: "application/json".to_owned(),
            body: serde_json::json!({ "challenge": challenge }).to_string(),
        }))
    }

    fn parse(&self, request: &InboundRequest) -> Result<Vec<Notification>> {
        let v: serde_json::Value = serde_json::from_slice(&request.body)
            .map_err(|e| Error::malformed(ID, "$", e.to_string()))?;
        let user = v["user"].as_str().map(str::to_owned);
        Ok(vec![Notification {
            provider_notification_id: None,
            provider_user_id: user.clone(),
            previous_provider_user_id: None,
            kind: "fake".to_owned(),
            action: NotificationAction::Other,
            record_id: None,
            range: None,
            event_ts: None,
            records: vec![RawRecord::new("fake", request.body.clone())],
        }])
    }

    fn normalize(&self, _record: &RawRecord, _ctx: &NormalizeContext) -> Result<Normalized> {
        Ok(Normalized::default())
    }
}
