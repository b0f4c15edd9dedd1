//! Svix webhook signatures, as Junction sends them.
//!
//! - Headers `svix-id`, `svix-timestamp` (unix seconds), `svix-signature`; white-labelled Svix
//!   tenants send the same three as `webhook-id`, `webhook-timestamp`, `webhook-signature`, which
//!   are accepted when the `svix-*` ones are absent.
//! - Key: the endpoint's signing secret `whsec_<base64>`, base64-decoded after the prefix.
//! - Signed content: `<svix-id>.<svix-timestamp>.<raw body>`, HMAC-SHA256, base64.
//! - `svix-signature` is a space-separated list of `<version>,<base64>`; any `v1` entry that
//!   matches is enough (several are sent while a secret is being rotated). Other versions
//!   (`v1a`, asymmetric) are skipped.
//! - The timestamp must lie within the tolerance of `now` in both directions (default 5 minutes,
//!   as in the Svix libraries), so an old captured request cannot be replayed.
//!
//! Everything is checked on the raw bytes before any parsing; MACs are compared in constant time
//! (`hmac::Mac::verify_slice`).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, Mac};
use nexus_core::{Error, ErrorKind, InboundRequest, Result, Secrets};
use sha2::Sha256;

use crate::PROVIDER;

/// Name of the signing-secret app secret.
pub const WEBHOOK_SECRET: &str = "webhook_secret";
/// Name of the optional tolerance setting, in seconds.
pub const TOLERANCE_SETTING: &str = "signature_tolerance_s";
/// Default timestamp tolerance, seconds (the Svix libraries' 5 minutes).
pub const DEFAULT_TOLERANCE_S: i64 = 5 * 60;

type HmacSha256 = Hmac<Sha256>;

/// The first of `names` present on the request.
fn header<'a>(request: &'a InboundRequest, names: &[&str]) -> Option<(&'a str, String)> {
    names
        .iter()
        .find_map(|n| request.header(n).map(|v| (v, (*n).to_owned())))
}

/// The HMAC key of a signing secret.
///
/// - `whsec_<base64>` (what Junction's dashboard shows): the decoded bytes; a `whsec_` secret
///   whose rest is not base64 is a configuration error.
/// - without the prefix: base64 when it decodes (the Svix libraries accept that), else the
///   secret's own bytes (as the Standard Webhooks libraries take a raw key). A wrong secret then
///   fails closed, as `invalid_signature`.
fn secret_key(secret: &str) -> Result<Vec<u8>> {
    let trimmed = secret.trim();
    let decode = |b64: &str| {
        STANDARD
            .decode(b64)
            .or_else(|_| STANDARD_NO_PAD.decode(b64.trim_end_matches('=')))
    };
    let key = match trimmed.strip_prefix("whsec_") {
        Some(b64) => decode(b64).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("`{WEBHOOK_SECRET}` is not a `whsec_` + base64 signing secret ({e})"),
            )
            .with_provider(PROVIDER)
            .with_field(WEBHOOK_SECRET)
        })?,
        None => decode(trimmed).unwrap_or_else(|_| trimmed.as_bytes().to_vec()),
    };
    if key.is_empty() {
        return Err(Error::new(ErrorKind::Config, "the signing secret is empty")
            .with_provider(PROVIDER)
            .with_field(WEBHOOK_SECRET));
    }
    Ok(key)
}

fn tolerance_s(secrets: &Secrets) -> Result<i64> {
    match secrets.get(TOLERANCE_SETTING) {
        None => Ok(DEFAULT_TOLERANCE_S),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "`{TOLERANCE_SETTING}` must be a positive number of seconds, got {v:?}"
                    ),
                )
                .with_provider(PROVIDER)
                .with_field(TOLERANCE_SETTING)
            }),
    }
}

/// The `v1,<base64>` signature of `id.timestamp.body` with `secret` (for tests and case
/// generators; verification never builds a string to compare).
pub fn sign(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> Result<String> {
    let mut mac = HmacSha256::new_from_slice(&secret_key(secret)?)
        .map_err(|e| Error::new(ErrorKind::Config, e.to_string()).with_provider(PROVIDER))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Verifies a Svix-signed request at `now_ms`.
pub fn verify(request: &InboundRequest, secrets: &Secrets, now_ms: i64) -> Result<()> {
    let secret = secrets.require(PROVIDER, WEBHOOK_SECRET)?;
    let key = secret_key(secret)?;
    let tolerance = tolerance_s(secrets)?;

    let missing = |what: &str| {
        Error::invalid_signature(PROVIDER, format!("the `svix-{what}` header is missing"))
            .with_field(format!("svix-{what}"))
    };
    let (id, _) = header(request, &["svix-id", "webhook-id"]).ok_or_else(|| missing("id"))?;
    let (ts, ts_name) = header(request, &["svix-timestamp", "webhook-timestamp"])
        .ok_or_else(|| missing("timestamp"))?;
    let (sigs, sig_name) = header(request, &["svix-signature", "webhook-signature"])
        .ok_or_else(|| missing("signature"))?;

    let ts_s: i64 = ts.trim().parse().map_err(|_| {
        Error::invalid_signature(PROVIDER, format!("timestamp {ts:?} is not unix seconds"))
            .with_field(ts_name.clone())
    })?;
    let skew_s = now_ms.div_euclid(1000).saturating_sub(ts_s);
    if skew_s.abs() > tolerance {
        let dir = if skew_s > 0 {
            "old"
        } else {
            "far in the future"
        };
        return Err(Error::new(
            ErrorKind::StaleTimestamp,
            format!(
                "timestamp {ts_s} is {}s {dir}; tolerance is {tolerance}s",
                skew_s.abs()
            ),
        )
        .with_provider(PROVIDER)
        .with_field(ts_name));
    }

    let mut mac = HmacSha256::new_from_slice(&key)
        .map_err(|e| Error::new(ErrorKind::Config, e.to_string()).with_provider(PROVIDER))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(ts.trim().as_bytes());
    mac.update(b".");
    mac.update(&request.body);

    let mut saw_v1 = false;
    for entry in sigs.split(' ').filter(|e| !e.is_empty()) {
        let Some((version, b64)) = entry.split_once(',') else {
            continue;
        };
        if version != "v1" {
            continue;
        }
        saw_v1 = true;
        let Ok(given) = STANDARD.decode(b64.trim()) else {
            continue;
        };
        if mac.clone().verify_slice(&given).is_ok() {
            return Ok(());
        }
    }
    let reason = if saw_v1 {
        "no `v1` signature matches the body"
    } else {
        "the signature header has no `v1,<base64>` entry"
    };
    Err(Error::invalid_signature(PROVIDER, reason).with_field(sig_name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    /// The Standard Webhooks / Svix reference-library vector (secret, id, timestamp, payload and
    /// expected signature as published in their test suites).
    const REF_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const REF_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const REF_TS: &str = "1614265330";
    const REF_BODY: &str = r#"{"test": 2432232314}"#;
    const REF_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn request(headers: &[(&str, &str)], body: &str) -> InboundRequest {
        InboundRequest {
            method: "POST".into(),
            path: "/webhooks/junction".into(),
            query: None,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: Bytes::from(body.to_owned()),
        }
    }

    fn secrets() -> Secrets {
        Secrets::new().with(WEBHOOK_SECRET, REF_SECRET)
    }

    const NOW: i64 = 1_614_265_330_000;

    #[test]
    fn the_published_reference_vector_signs_and_verifies() {
        assert_eq!(
            sign(REF_SECRET, REF_ID, REF_TS, REF_BODY.as_bytes()).unwrap(),
            REF_SIG
        );
        let r = request(
            &[
                ("svix-id", REF_ID),
                ("svix-timestamp", REF_TS),
                ("svix-signature", REF_SIG),
            ],
            REF_BODY,
        );
        verify(&r, &secrets(), NOW).unwrap();
    }

    #[test]
    fn rotation_lists_and_webhook_header_names_are_accepted() {
        let list = format!("v1a,AAAA v1,bm90IGl0 {REF_SIG}");
        let r = request(
            &[
                ("webhook-id", REF_ID),
                ("webhook-timestamp", REF_TS),
                ("webhook-signature", &list),
            ],
            REF_BODY,
        );
        verify(&r, &secrets(), NOW + 299_000).unwrap();
    }

    #[test]
    fn a_changed_body_id_or_signature_is_refused() {
        let cases = [
            (REF_ID, REF_SIG, r#"{"test": 2432232315}"#),
            ("msg_other", REF_SIG, REF_BODY),
            (
                REF_ID,
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE",
                REF_BODY,
            ),
            (
                REF_ID,
                "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
                REF_BODY,
            ),
            (REF_ID, "garbage", REF_BODY),
        ];
        for (id, sig, body) in cases {
            let r = request(
                &[
                    ("svix-id", id),
                    ("svix-timestamp", REF_TS),
                    ("svix-signature", sig),
                ],
                body,
            );
            let e = verify(&r, &secrets(), NOW).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidSignature, "{id} {sig} {body}");
        }
    }

    #[test]
    fn timestamps_outside_the_tolerance_are_stale_both_ways() {
        let r = request(
            &[
                ("svix-id", REF_ID),
                ("svix-timestamp", REF_TS),
                ("svix-signature", REF_SIG),
            ],
            REF_BODY,
        );
        for now in [NOW + 301_000, NOW - 301_000] {
            assert_eq!(
                verify(&r, &secrets(), now).unwrap_err().kind(),
                ErrorKind::StaleTimestamp
            );
        }
        let tight = secrets().with(TOLERANCE_SETTING, "10");
        assert_eq!(
            verify(&r, &tight, NOW + 11_000).unwrap_err().kind(),
            ErrorKind::StaleTimestamp
        );
        verify(&r, &tight, NOW + 10_000).unwrap();
        let bad = secrets().with(TOLERANCE_SETTING, "soon");
        assert_eq!(verify(&r, &bad, NOW).unwrap_err().kind(), ErrorKind::Config);
    }

    #[test]
    fn missing_headers_and_bad_secrets_are_named() {
        let r = request(&[("svix-id", REF_ID), ("svix-timestamp", REF_TS)], REF_BODY);
        let e = verify(&r, &secrets(), NOW).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSignature);
        assert_eq!(e.field(), Some("svix-signature"));
        let r = request(
            &[
                ("svix-id", REF_ID),
                ("svix-timestamp", "yesterday"),
                ("svix-signature", REF_SIG),
            ],
            REF_BODY,
        );
        assert_eq!(
            verify(&r, &secrets(), NOW).unwrap_err().kind(),
            ErrorKind::InvalidSignature
        );
        let bad = Secrets::new().with(WEBHOOK_SECRET, "whsec_***");
        assert_eq!(verify(&r, &bad, NOW).unwrap_err().kind(), ErrorKind::Config);
        let r = request(
            &[
                ("svix-id", REF_ID),
                ("svix-timestamp", REF_TS),
                ("svix-signature", REF_SIG),
            ],
            REF_BODY,
        );
        // A wrong secret in another shape fails closed as a signature mismatch.
        let wrong = Secrets::new().with(WEBHOOK_SECRET, format!("fake-wrong-{REF_SECRET}"));
        assert_eq!(
            verify(&r, &wrong, NOW).unwrap_err().kind(),
            ErrorKind::InvalidSignature
        );
        // The same key without its prefix still verifies.
        let bare = Secrets::new().with(WEBHOOK_SECRET, &REF_SECRET["whsec_".len()..]);
        verify(&r, &bare, NOW).unwrap();
        let r = request(
            &[
                ("svix-id", REF_ID),
                ("svix-timestamp", "yesterday"),
                ("svix-signature", REF_SIG),
            ],
            REF_BODY,
        );
        assert_eq!(
            verify(&r, &Secrets::new(), NOW).unwrap_err().kind(),
            ErrorKind::Config
        );
    }
}
