//! Verification of Oura webhook signatures.
//!
//! Oura sends `x-oura-signature` = hex(HMAC-SHA256(client secret, `x-oura-timestamp` + raw body)),
//! the timestamp string and the body concatenated with no separator. Oura's docs sample writes the
//! hex digest upper-case; it is compared case-insensitively (decoded to bytes, then compared in
//! constant time by `hmac::Mac::verify_slice`). The raw body is signed, never re-serialised JSON.
//!
//! Oura documents no timestamp window. Nexus refuses timestamps more than
//! `signature_tolerance_s` seconds (default 300) away from `now_ms`, in either direction.
//! `x-oura-timestamp` is epoch seconds; a value above 10^11 is read as epoch milliseconds (a
//! defence in case Oura ever sends ms: such a value is far beyond any plausible epoch second).
//!
//! Rotation: Oura sends one signature, keyed by the app's client secret. When the operator rotates
//! the client secret, `webhook_secret_previous` keeps the old one accepted until it is removed.

use hmac::{Hmac, Mac};
use nexus_core::{Error, ErrorKind, InboundRequest, Result, Secrets};
use sha2::Sha256;

use crate::PROVIDER;

/// Header carrying the hex HMAC.
pub const SIGNATURE_HEADER: &str = "x-oura-signature";
/// Header carrying the signed timestamp (epoch seconds).
pub const TIMESTAMP_HEADER: &str = "x-oura-timestamp";
/// Secret: the Oura app's OAuth client secret, which keys the HMAC.
pub const SECRET: &str = "webhook_secret";
/// Secret: the previous client secret, accepted during a rotation.
pub const PREVIOUS_SECRET: &str = "webhook_secret_previous";
/// Setting: the accepted distance of `x-oura-timestamp` from now, in seconds.
pub const TOLERANCE_SETTING: &str = "signature_tolerance_s";
/// Default timestamp tolerance, seconds (ours: Oura documents none).
pub const DEFAULT_TOLERANCE_S: i64 = 300;

/// Timestamps above this are epoch milliseconds, not seconds (10^11 s is the year 5138).
const MS_THRESHOLD: i64 = 100_000_000_000;

/// Verifies the signature and then the timestamp of an Oura webhook delivery.
pub fn verify(request: &InboundRequest, secrets: &Secrets, now_ms: i64) -> Result<()> {
    let primary = non_empty(secrets.require(PROVIDER, SECRET)?, SECRET)?;
    let tolerance_s = tolerance_s(secrets)?;
    let signature = request
        .header(SIGNATURE_HEADER)
        .ok_or_else(|| missing(SIGNATURE_HEADER))?
        .trim();
    let timestamp = request
        .header(TIMESTAMP_HEADER)
        .ok_or_else(|| missing(TIMESTAMP_HEADER))?
        .trim();
    let expected = hex::decode(signature).map_err(|_| {
        Error::invalid_signature(PROVIDER, "the signature is not hex").with_field(SIGNATURE_HEADER)
    })?;
    let keys = [
        Some(primary),
        secrets.get(PREVIOUS_SECRET).filter(|k| !k.is_empty()),
    ];
    let matched = keys
        .into_iter()
        .flatten()
        .any(|key| signature_matches(key, timestamp, &request.body, &expected));
    if !matched {
        return Err(Error::invalid_signature(
            PROVIDER,
            "the signature does not match the timestamp and body",
        )
        .with_field(SIGNATURE_HEADER));
    }
    check_timestamp(timestamp, tolerance_s, now_ms)
}

/// Hex (upper-case, as Oura sends it) HMAC-SHA256 of `timestamp + body` under `key`. Used by
/// tests and by tools that produce recorded cases.
pub fn sign(key: &str, timestamp: &str, body: &[u8]) -> String {
    mac(key, timestamp, body)
        .map(|m| hex::encode_upper(m.finalize().into_bytes()))
        .unwrap_or_default()
}

/// The HMAC over `timestamp + body`; `None` only if the key were refused (HMAC takes keys of any
/// length, so it never is), which then verifies nothing.
fn mac(key: &str, timestamp: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).ok()?;
    mac.update(timestamp.as_bytes());
    mac.update(body);
    Some(mac)
}

fn signature_matches(key: &str, timestamp: &str, body: &[u8], expected: &[u8]) -> bool {
    mac(key, timestamp, body).is_some_and(|m| m.verify_slice(expected).is_ok())
}

/// An empty secret would let anyone sign: it is a configuration error.
pub(crate) fn non_empty<'a>(value: &'a str, name: &str) -> Result<&'a str> {
    if value.is_empty() {
        return Err(
            Error::new(ErrorKind::Config, format!("app secret `{name}` is empty"))
                .with_provider(PROVIDER)
                .with_field(name),
        );
    }
    Ok(value)
}

fn missing(header: &str) -> Error {
    Error::invalid_signature(PROVIDER, "the header is missing").with_field(header)
}

fn tolerance_s(secrets: &Secrets) -> Result<i64> {
    match secrets.get(TOLERANCE_SETTING) {
        None => Ok(DEFAULT_TOLERANCE_S),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|s| (0..=86_400).contains(s))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!("`{TOLERANCE_SETTING}` must be whole seconds in 0..=86400, got {v:?}"),
                )
                .with_provider(PROVIDER)
                .with_field(TOLERANCE_SETTING)
            }),
    }
}

fn check_timestamp(timestamp: &str, tolerance_s: i64, now_ms: i64) -> Result<()> {
    let value: i64 = timestamp
        .parse()
        .ok()
        .filter(|v: &i64| *v >= 0)
        .ok_or_else(|| {
            Error::invalid_signature(
                PROVIDER,
                format!("expected epoch seconds, got {timestamp:?}"),
            )
            .with_field(TIMESTAMP_HEADER)
        })?;
    let ts_ms = if value > MS_THRESHOLD {
        value
    } else {
        value.saturating_mul(1000)
    };
    let skew_ms = now_ms.saturating_sub(ts_ms).saturating_abs();
    if skew_ms > tolerance_s.saturating_mul(1000) {
        return Err(Error::new(
            ErrorKind::StaleTimestamp,
            format!(
                "timestamp is {}s away from now, more than the {tolerance_s}s allowed",
                skew_ms / 1000
            ),
        )
        .with_provider(PROVIDER)
        .with_field(TIMESTAMP_HEADER));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    const NOW_MS: i64 = 1_731_312_000_000;
    const BODY: &str = r#"{"event_type":"create","data_type":"sleep","object_id":"s-1","event_time":"2024-11-11T08:00:00+00:00","user_id":"u-1"}"#;

    fn req(sig: &str, ts: &str, body: &str) -> InboundRequest {
        InboundRequest {
            method: "POST".into(),
            path: "/webhooks/oura".into(),
            query: None,
            headers: vec![
                ("x-oura-signature".into(), sig.into()),
                ("x-oura-timestamp".into(), ts.into()),
            ],
            body: Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    fn secrets() -> Secrets {
        Secrets::new().with(SECRET, "fake-oura-client-secret")
    }

    #[test]
    fn a_known_vector_computed_with_python_hmac() {
        // An independent oracle: python3 -c 'import hmac,hashlib; print(hmac.new(
        //   b"fake-oura-client-secret", b"1731312000" + BODY, hashlib.sha256).hexdigest().upper())'
        let expected = "7D07AE73FD25572C2B2828DF7FA23AA6EE4B725401E5C1006A598E77D31B938E";
        assert_eq!(
            sign("fake-oura-client-secret", "1731312000", BODY.as_bytes()),
            expected
        );
        assert!(verify(&req(expected, "1731312000", BODY), &secrets(), NOW_MS).is_ok());
    }

    #[test]
    fn valid_signatures_verify_in_either_case() {
        let sig = sign("fake-oura-client-secret", "1731312000", BODY.as_bytes());
        assert!(verify(&req(&sig, "1731312000", BODY), &secrets(), NOW_MS).is_ok());
        let lower = sig.to_ascii_lowercase();
        assert!(verify(&req(&lower, "1731312000", BODY), &secrets(), NOW_MS).is_ok());
    }

    #[test]
    fn tampering_is_refused() {
        let sig = sign("fake-oura-client-secret", "1731312000", BODY.as_bytes());
        let tampered = BODY.replace("s-1", "s-2");
        let e = verify(&req(&sig, "1731312000", &tampered), &secrets(), NOW_MS).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSignature);
        // the timestamp is signed too
        let e = verify(&req(&sig, "1731312001", BODY), &secrets(), NOW_MS).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSignature);
        let wrong = Secrets::new().with(SECRET, "fake-other-secret");
        let e = verify(&req(&sig, "1731312000", BODY), &wrong, NOW_MS).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSignature);
        let e = verify(&req("zz-not-hex", "1731312000", BODY), &secrets(), NOW_MS).unwrap_err();
        assert_eq!(e.field(), Some(SIGNATURE_HEADER));
    }

    #[test]
    fn missing_headers_and_secret() {
        let mut r = req("00", "1731312000", BODY);
        r.headers.clear();
        let e = verify(&r, &secrets(), NOW_MS).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSignature);
        let e = verify(&req("00", "1", BODY), &Secrets::new(), NOW_MS).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        // an empty secret would make anyone's empty-key HMAC valid
        let empty = Secrets::new().with(SECRET, "");
        let sig = sign("", "1731312000", BODY.as_bytes());
        let e = verify(&req(&sig, "1731312000", BODY), &empty, NOW_MS).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
    }

    #[test]
    fn timestamps_outside_the_tolerance_are_stale() {
        let ts = "1731311690"; // 310 s before now
        let sig = sign("fake-oura-client-secret", ts, BODY.as_bytes());
        let e = verify(&req(&sig, ts, BODY), &secrets(), NOW_MS).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::StaleTimestamp);
        // ... and in the future too
        let ts = "1731312310";
        let sig = sign("fake-oura-client-secret", ts, BODY.as_bytes());
        let e = verify(&req(&sig, ts, BODY), &secrets(), NOW_MS).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::StaleTimestamp);
        // a configured tolerance widens the window
        let wide = secrets().with(TOLERANCE_SETTING, "600");
        assert!(verify(&req(&sig, ts, BODY), &wide, NOW_MS).is_ok());
        let bad = secrets().with(TOLERANCE_SETTING, "five minutes");
        assert_eq!(
            verify(&req(&sig, ts, BODY), &bad, NOW_MS)
                .unwrap_err()
                .kind(),
            ErrorKind::Config
        );
    }

    #[test]
    fn millisecond_timestamps_are_understood_and_garbage_is_refused() {
        let ts = "1731312000123";
        let sig = sign("fake-oura-client-secret", ts, BODY.as_bytes());
        assert!(verify(&req(&sig, ts, BODY), &secrets(), NOW_MS).is_ok());
        let ts = "soon";
        let sig = sign("fake-oura-client-secret", ts, BODY.as_bytes());
        let e = verify(&req(&sig, ts, BODY), &secrets(), NOW_MS).unwrap_err();
        assert_eq!(e.field(), Some(TIMESTAMP_HEADER));
    }

    #[test]
    fn the_previous_secret_is_accepted_during_rotation() {
        let sig = sign("fake-old-secret", "1731312000", BODY.as_bytes());
        let rotated = secrets().with(PREVIOUS_SECRET, "fake-old-secret");
        assert!(verify(&req(&sig, "1731312000", BODY), &rotated, NOW_MS).is_ok());
        assert!(verify(&req(&sig, "1731312000", BODY), &secrets(), NOW_MS).is_err());
    }
}
