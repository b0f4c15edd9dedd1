//! Signing Terra webhooks as Terra does: `terra-signature: t=<unix s>,v1=<hex HMAC-SHA256 of
//! "t.body">` with the destination's signing secret (fake ones only).

use bytes::Bytes;
use hmac::{Hmac, Mac};
use nexus_core::InboundRequest;
use sha2::Sha256;

/// The fake signing secret the benches configure for Terra.
pub const FAKE_SECRET: &str = "fake-terra-signing-secret";

/// The `terra-signature` header value for `body` at `t` (unix seconds).
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A signed Terra webhook request, as the ingress hands it on.
pub fn signed_request(secret: &str, t: i64, reference: &str, body: Bytes) -> InboundRequest {
    InboundRequest {
        method: "POST".into(),
        path: "/webhooks/terra".into(),
        query: None,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("terra-signature".into(), signature(secret, t, &body)),
            ("terra-reference".into(), reference.into()),
        ],
        body,
    }
}
