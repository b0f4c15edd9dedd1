//! The `terra-signature` check: `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`, where each `v1` is
//! `hex(HMAC-SHA256(signing secret, t + "." + raw body))`. Every `v1` is tried (Terra may send
//! several while a secret rotates); other schemes (`v0`) are ignored so a downgrade cannot pass.
//! The comparison is constant-time (`hmac::Mac::verify_slice`), and `|now - t|` must lie within
//! the tolerance (`signature_tolerance_s`, default 300 s).

use hmac::{Hmac, Mac};
use nexus_core::{Error, ErrorKind, InboundRequest, Result, Secrets};
use sha2::Sha256;

use crate::PROVIDER;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "terra-signature";
/// App secret holding the destination's signing secret.
pub const SECRET_NAME: &str = "webhook_secret";
/// App setting overriding the timestamp tolerance, in seconds.
pub const TOLERANCE_NAME: &str = "signature_tolerance_s";
/// Default timestamp tolerance, seconds (5 minutes).
pub const DEFAULT_TOLERANCE_S: i64 = 300;

/// The parts of a `terra-signature` header.
#[derive(Debug, PartialEq, Eq)]
struct Header<'a> {
    t: &'a str,
    t_secs: i64,
    v1: Vec<&'a str>,
}

fn parse_header(value: &str) -> Result<Header<'_>> {
    let mut t: Option<&str> = None;
    let mut v1 = Vec::new();
    for part in value.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "t" => t = Some(v.trim()),
            "v1" => v1.push(v.trim()),
            _ => {} // other schemes (v0, ...) are never accepted
        }
    }
    let t = t.ok_or_else(|| bad("the header has no `t=` timestamp"))?;
    let t_secs: i64 = t
        .parse()
        .map_err(|_| bad(format!("the timestamp `t={t}` is not whole unix seconds")))?;
    if v1.is_empty() {
        return Err(bad("the header has no `v1=` signature"));
    }
    Ok(Header { t, t_secs, v1 })
}

fn bad(reason: impl Into<String>) -> Error {
    Error::invalid_signature(PROVIDER, reason).with_field(SIGNATURE_HEADER)
}

/// The `t=` of a `terra-signature` header (when Terra sent the request), epoch ms; `None` when the
/// header is absent or unreadable (verify has refused such a request already).
pub fn signed_at_ms(request: &InboundRequest) -> Option<i64> {
    let header = parse_header(request.header(SIGNATURE_HEADER)?).ok()?;
    header.t_secs.checked_mul(1000)
}

/// The configured tolerance in seconds.
fn tolerance_s(secrets: &Secrets) -> Result<i64> {
    match secrets.get(TOLERANCE_NAME) {
        None => Ok(DEFAULT_TOLERANCE_S),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|s| *s >= 0)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!("`{TOLERANCE_NAME}` must be a whole number of seconds >= 0"),
                )
                .with_provider(PROVIDER)
                .with_field(TOLERANCE_NAME)
            }),
    }
}

/// Verifies `request` on its raw bytes; `now_ms` is the current time.
pub fn verify(request: &InboundRequest, secrets: &Secrets, now_ms: i64) -> Result<()> {
    let secret = secrets.require(PROVIDER, SECRET_NAME)?;
    let tolerance = tolerance_s(secrets)?;
    let value = request
        .header(SIGNATURE_HEADER)
        .ok_or_else(|| bad("the request carries no terra-signature header"))?;
    let header = parse_header(value)?;

    let mut matched = false;
    for candidate in &header.v1 {
        let Ok(expected) = hex::decode(candidate) else {
            continue;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            continue;
        };
        mac.update(header.t.as_bytes());
        mac.update(b".");
        mac.update(&request.body);
        // Constant-time comparison.
        if mac.verify_slice(&expected).is_ok() {
            matched = true;
        }
    }
    if !matched {
        return Err(bad("no v1 signature matches the body"));
    }

    let now_s = now_ms.div_euclid(1000);
    let skew = now_s.saturating_sub(header.t_secs).saturating_abs();
    if skew > tolerance {
        return Err(Error::new(
            ErrorKind::StaleTimestamp,
            format!("signature timestamp is {skew} s away from now (tolerance {tolerance} s)"),
        )
        .with_provider(PROVIDER)
        .with_field(SIGNATURE_HEADER));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn sign(secret: &str, t: &str, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{body}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn req(header: Option<&str>, body: &str) -> InboundRequest {
        InboundRequest {
            method: "POST".into(),
            path: "/webhooks/terra".into(),
            query: None,
            headers: header
                .map(|h| vec![("terra-signature".to_owned(), h.to_owned())])
                .unwrap_or_default(),
            body: Bytes::from(body.to_owned()),
        }
    }

    fn secrets() -> Secrets {
        Secrets::new().with(SECRET_NAME, "fake-terra-signing-secret")
    }

    const T: i64 = 1_782_900_000;

    #[test]
    fn published_third_party_vector_verifies() {
        // williamkennedy/tryterra_api test vector (webhook-signatures.md): secret "key", body "123".
        let h = "t=12345678,v1=dca55eca8f595bd4d80250ab9609c7cbecec8e581c5c3822294f7c2ee1c99377";
        let s = Secrets::new().with(SECRET_NAME, "key");
        verify(&req(Some(h), "123"), &s, 12_345_678_000).unwrap();
        let e = verify(&req(Some(h), "124"), &s, 12_345_678_000).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSignature);
    }

    #[test]
    fn any_of_several_v1_signatures_is_accepted_and_v0_is_ignored() {
        let body = r#"{"type":"healthcheck"}"#;
        let good = sign("fake-terra-signing-secret", &T.to_string(), body);
        let h = format!("t={T},v1={},v1={good}", "00".repeat(32));
        verify(&req(Some(&h), body), &secrets(), T * 1000).unwrap();
        let only_v0 = format!("t={T},v0={good}");
        let e = verify(&req(Some(&only_v0), body), &secrets(), T * 1000).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSignature);
    }

    #[test]
    fn tampered_bodies_bad_hex_and_missing_parts_are_refused() {
        let body = r#"{"type":"healthcheck"}"#;
        let good = sign("fake-terra-signing-secret", &T.to_string(), body);
        for h in [
            format!("t={T},v1={good}x"),
            format!("t={T},v1=zz"),
            format!("v1={good}"),
            format!("t=abc,v1={good}"),
            format!("t={T}"),
            String::new(),
        ] {
            let e = verify(&req(Some(&h), body), &secrets(), T * 1000).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidSignature, "{h}");
            assert_eq!(e.field(), Some(SIGNATURE_HEADER));
        }
        let e = verify(
            &req(Some(&format!("t={T},v1={good}")), "{}"),
            &secrets(),
            T * 1000,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSignature);
        let e = verify(&req(None, body), &secrets(), T * 1000).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSignature);
    }

    #[test]
    fn tolerance_defaults_to_five_minutes_and_is_configurable() {
        let body = "{}";
        let h = format!(
            "t={T},v1={}",
            sign("fake-terra-signing-secret", &T.to_string(), body)
        );
        verify(&req(Some(&h), body), &secrets(), (T + 300) * 1000).unwrap();
        verify(&req(Some(&h), body), &secrets(), (T - 300) * 1000).unwrap();
        let e = verify(&req(Some(&h), body), &secrets(), (T + 301) * 1000).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::StaleTimestamp);
        let wide = secrets().with(TOLERANCE_NAME, "3600");
        verify(&req(Some(&h), body), &wide, (T + 3000) * 1000).unwrap();
        let narrow = secrets().with(TOLERANCE_NAME, "10");
        let e = verify(&req(Some(&h), body), &narrow, (T + 11) * 1000).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::StaleTimestamp);
        let broken = secrets().with(TOLERANCE_NAME, "five minutes");
        let e = verify(&req(Some(&h), body), &broken, T * 1000).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
    }

    #[test]
    fn the_signing_time_is_read_from_the_header() {
        assert_eq!(
            signed_at_ms(&req(Some("t=1782900000,v1=00"), "{}")),
            Some(1_782_900_000_000)
        );
        assert_eq!(signed_at_ms(&req(Some("v1=00"), "{}")), None);
        assert_eq!(signed_at_ms(&req(None, "{}")), None);
    }

    #[test]
    fn a_missing_secret_is_a_config_error() {
        let e = verify(&req(Some("t=1,v1=00"), "{}"), &Secrets::new(), 0).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
    }
}
