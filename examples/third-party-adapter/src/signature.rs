//! `acme-signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`: HMAC-SHA256 of `"<t>.<raw body>"`
//! with the webhook secret, compared in constant time; at most 300 s between `t` and now.

use hmac::{Hmac, Mac};
use nexus_core::{Error, ErrorKind, InboundRequest, Result, Secrets};
use sha2::Sha256;

use crate::ID;

const TOLERANCE_S: i64 = 300;

/// Verifies the request's signature at `now_ms`.
pub fn verify(request: &InboundRequest, secrets: &Secrets, now_ms: i64) -> Result<()> {
    let secret = secrets.require(ID, "webhook_secret")?;
    let header = request
        .header("acme-signature")
        .ok_or_else(|| Error::invalid_signature(ID, "no acme-signature header"))?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", s)) => signatures.push(s),
            _ => {}
        }
    }
    let t = timestamp.ok_or_else(|| Error::invalid_signature(ID, "no t= in acme-signature"))?;
    let t_s: i64 = t
        .parse()
        .map_err(|_| Error::invalid_signature(ID, "t= is not a number"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| Error::new(ErrorKind::Config, "unusable webhook secret").with_provider(ID))?;
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&request.body);
    let matched = signatures
        .iter()
        .any(|s| hex::decode(s).is_ok_and(|bytes| mac.clone().verify_slice(&bytes).is_ok()));
    if !matched {
        return Err(Error::invalid_signature(ID, "no v1 signature matches"));
    }
    if (now_ms / 1000 - t_s).abs() > TOLERANCE_S {
        return Err(Error::new(
            ErrorKind::StaleTimestamp,
            format!("signed at {t_s}, more than {TOLERANCE_S} s from now"),
        )
        .with_provider(ID));
    }
    Ok(())
}
