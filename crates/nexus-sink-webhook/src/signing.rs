//! Standard Webhooks signing (spec 1.0.0, symmetric scheme `v1`): the secret format
//! (`whsec_` + standard base64 of 24 to 64 random bytes) and the signature
//! `v1,` + base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")).

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use nexus_core::{Error, ErrorKind, Result};
use sha2::Sha256;

/// The prefix of a Standard Webhooks symmetric secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Shortest key the spec allows, in bytes.
pub const MIN_KEY_BYTES: usize = 24;
/// Longest key the spec allows, in bytes.
pub const MAX_KEY_BYTES: usize = 64;

/// Standard base64 that accepts the secret with or without `=` padding, as the reference
/// libraries do.
const SECRET_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A signing key parsed from `whsec_<base64>`. `Debug` never prints the key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl WebhookSecret {
    /// Parses `whsec_<standard base64>`; the key must be 24 to 64 bytes (spec 1.0.0). The error
    /// never repeats the secret.
    pub fn parse(secret: &str) -> Result<WebhookSecret> {
        let encoded = secret.trim().strip_prefix(SECRET_PREFIX).ok_or_else(|| {
            config_error(format!(
                "a webhook secret must start with `{SECRET_PREFIX}` followed by standard base64"
            ))
        })?;
        let key = SECRET_BASE64.decode(encoded).map_err(|_| {
            config_error(format!(
                "the part after `{SECRET_PREFIX}` is not standard base64 (alphabet A-Z a-z 0-9 + /)"
            ))
        })?;
        if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&key.len()) {
            return Err(config_error(format!(
                "a webhook secret must decode to {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, this one has {}",
                key.len()
            )));
        }
        Ok(WebhookSecret { key })
    }

    /// A secret built from raw key bytes (24 to 64 of them).
    pub fn from_key(key: &[u8]) -> Result<WebhookSecret> {
        if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&key.len()) {
            return Err(config_error(format!(
                "a webhook key must be {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, this one has {}",
                key.len()
            )));
        }
        Ok(WebhookSecret { key: key.to_vec() })
    }

    /// The secret written as `whsec_<standard base64>` (for showing a generated secret once).
    pub fn to_whsec(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.key))
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable_hmac_key(),
        };
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

// HMAC's `new_from_slice` only fails for MACs with a fixed key size, which HMAC is not.
#[allow(clippy::panic)] // documented impossibility, see above
#[cold]
fn unreachable_hmac_key() -> ! {
    panic!("HMAC-SHA256 accepts keys of any length")
}

/// The `webhook-signature` header: one `v1,<sig>` per secret, space-separated (several during a
/// secret rotation, so the receiver can verify with either).
pub fn signature_header(
    secrets: &[WebhookSecret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|s| s.sign(msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `id` may be a `webhook-id`: the spec signs `id.timestamp.body`, so an id holding `.`
/// would make the signed content ambiguous. Also refuses what cannot be an HTTP header value.
pub fn valid_msg_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'.' && b != b',')
}

fn config_error(message: String) -> Error {
    Error::new(ErrorKind::Config, message).with_field("secrets")
}

#[cfg(test)]
mod tests {
    use super::*;

    // The vector shared by the Standard Webhooks reference libraries' test suites (Go
    // `TestWebhookSign`, C#, Java; see research/webhook-signatures.md).
    #[test]
    fn reference_library_vector() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    // The vector of the reference Rust library's `test_sign` (research/perf-reliability-ecosystem.md 1.1).
    #[test]
    fn reference_rust_library_vector() {
        let secret = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(
            secret.sign(
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1649367553,
                br#"{"email":"test@example.com","username":"test_user"}"#
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn rotation_sends_one_signature_per_secret() {
        let a = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let b = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let header = signature_header(&[a.clone(), b.clone()], "msg_1", 5, b"{}");
        assert_eq!(
            header,
            format!(
                "{} {}",
                a.sign("msg_1", 5, b"{}"),
                b.sign("msg_1", 5, b"{}")
            )
        );
        assert_ne!(a.sign("msg_1", 5, b"{}"), b.sign("msg_1", 5, b"{}"));
    }

    #[test]
    fn secrets_parse_with_or_without_padding_and_round_trip() {
        let key = b"fake-key-for-tests-only-0123456789"; // 34 bytes: base64 needs padding
        let with = format!("whsec_{}", STANDARD.encode(key));
        assert!(with.ends_with('='));
        let without = with.trim_end_matches('=').to_owned();
        let a = WebhookSecret::parse(&with).unwrap();
        let b = WebhookSecret::parse(&without).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_whsec(), with);
        assert_eq!(WebhookSecret::from_key(key).unwrap(), a);
    }

    #[test]
    fn bad_secrets_are_refused_without_echoing_them() {
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",         // no prefix
            "whsec_fake-url_safe-secret-value-0000000", // URL-safe alphabet
            "whsec_ZmFrZQ==",                           // 4 bytes: too short
            "whsec_",
        ] {
            let err = WebhookSecret::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
            let shown = err.to_string();
            let tail = bad.strip_prefix("whsec_").unwrap_or(bad);
            assert!(tail.is_empty() || !shown.contains(tail), "{shown}");
        }
        let long = format!("whsec_{}", STANDARD.encode([7u8; 65]));
        assert!(WebhookSecret::parse(&long).is_err());
    }

    #[test]
    fn debug_never_prints_the_key() {
        let s = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(format!("{s:?}"), "WebhookSecret(<redacted>)");
    }

    #[test]
    fn message_ids_with_dots_are_refused() {
        assert!(valid_msg_id("msg_01JABC"));
        assert!(valid_msg_id("0193f7d2-7c1e-7b55-a1a5-1f0c3a8d9e21"));
        assert!(!valid_msg_id("a.b"));
        assert!(!valid_msg_id(""));
        assert!(!valid_msg_id("a b"));
        assert!(!valid_msg_id("a\nb"));
    }
}
