//! Identity (EVENTS.md section 3): `source_id`, the composed native ids, and device ids.

use sha2::{Digest, Sha256};

use crate::EventType;

/// `sha256_hex(event_type + ":" + provider + ":" + native_id)`, lowercase hex.
///
/// ```
/// use nexus_core::{identity::source_id, EventType};
/// assert_eq!(
///     source_id(EventType::Activity, "fitbit", "12345"),
///     nexus_core::identity::sha256_hex("activity:fitbit:12345"),
/// );
/// ```
pub fn source_id(event_type: EventType, provider: &str, native_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(event_type.as_str().as_bytes());
    h.update(b":");
    h.update(provider.as_bytes());
    h.update(b":");
    h.update(native_id.as_bytes());
    hex::encode(h.finalize())
}

/// Lowercase hex SHA-256 of a string.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Native id of a daily aggregate: `<provider_user_id>:<YYYY-MM-DD>`.
pub fn daily_native_id(provider_user_id: &str, date: &str) -> String {
    format!("{provider_user_id}:{date}")
}

/// Native id of a timeseries chunk: `<provider_user_id>:<device native id or "-">:<window_start>`.
pub fn chunk_native_id(provider_user_id: &str, device: Option<&str>, window_start: i64) -> String {
    format!(
        "{provider_user_id}:{}:{window_start}",
        device.unwrap_or("-")
    )
}

/// Native id of profile and connection state: `<provider_user_id>`.
pub fn user_native_id(provider_user_id: &str) -> String {
    provider_user_id.to_owned()
}

/// The Nexus-scoped id of a device: `dev_` + the first 24 hex digits of
/// `sha256(provider:device_native_key)`. Deterministic, so the same device gets the same id in every
/// event and every replay, and it does not expose the provider's raw id.
pub fn device_id(provider: &str, device_native_key: &str) -> String {
    let mut h = Sha256::new();
    h.update(provider.as_bytes());
    h.update(b":");
    h.update(device_native_key.as_bytes());
    let digest = hex::encode(h.finalize());
    format!("dev_{}", &digest[..24])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_id_matches_the_published_example() {
        // EVENTS.md: sha256_hex("activity:fitbit:12345"), computed independently with coreutils:
        // printf 'activity:fitbit:12345' | sha256sum
        let expected = "a08319d988a1b4fc402946f5ba93e219c270fd310ff4dfeeb0bcf7c87b9cdf27";
        assert_eq!(source_id(EventType::Activity, "fitbit", "12345"), expected);
        assert_eq!(sha256_hex("activity:fitbit:12345"), expected);
    }

    #[test]
    fn composed_native_ids() {
        assert_eq!(daily_native_id("u1", "2024-03-01"), "u1:2024-03-01");
        assert_eq!(
            chunk_native_id("u1", None, 1_700_000_100_000),
            "u1:-:1700000100000"
        );
        assert_eq!(chunk_native_id("u1", Some("ring"), 5), "u1:ring:5");
        assert_eq!(user_native_id("u1"), "u1");
    }

    #[test]
    fn device_ids_are_stable_and_provider_scoped() {
        assert_eq!(device_id("oura", "ring-1"), device_id("oura", "ring-1"));
        assert_ne!(device_id("oura", "ring-1"), device_id("terra", "ring-1"));
        assert!(device_id("oura", "x").starts_with("dev_"));
    }
}
