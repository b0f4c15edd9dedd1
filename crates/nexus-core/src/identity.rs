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
    digest_hex(&h.finalize().into())
}

/// Lowercase hex SHA-256 of a string.
pub fn sha256_hex(s: &str) -> String {
    digest_hex(&Sha256::digest(s.as_bytes()).into())
}

/// Lowercase hex of a SHA-256 digest, written into a stack buffer and allocated once (the hot
/// path of every item: no per-character iterator).
pub(crate) fn digest_hex(digest: &[u8; 32]) -> String {
    let mut buf = [0u8; 64];
    hex_into(digest, &mut buf);
    hex_string(&buf)
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Writes the lowercase hex of `bytes` into `out`, which holds exactly two bytes per input byte.
fn hex_into(bytes: &[u8], out: &mut [u8]) {
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = HEX_DIGITS[usize::from(b >> 4)];
        pair[1] = HEX_DIGITS[usize::from(b & 0x0f)];
    }
}

/// `buf` holds only ASCII (hex digits written by `hex_into`), so it is always valid UTF-8.
fn hex_string(buf: &[u8]) -> String {
    std::str::from_utf8(buf)
        .map(str::to_owned)
        .unwrap_or_default()
}

/// Native id of a daily aggregate: `<provider_user_id>:<YYYY-MM-DD>`.
pub fn daily_native_id(provider_user_id: &str, date: &str) -> String {
    format!("{provider_user_id}:{date}")
}

/// Native id of a timeseries chunk: `<provider_user_id>:<device native id or "-">:<window_start>`.
pub fn chunk_native_id(provider_user_id: &str, device: Option<&str>, window_start: i64) -> String {
    use std::fmt::Write as _;
    let device = device.unwrap_or("-");
    // 20 characters hold any i64.
    let mut id = String::with_capacity(provider_user_id.len() + device.len() + 22);
    id.push_str(provider_user_id);
    id.push(':');
    id.push_str(device);
    id.push(':');
    // Writing to a String cannot fail.
    let _ = write!(id, "{window_start}");
    id
}

/// The window start a composed chunk native id ends with (the inverse of [`chunk_native_id`]):
/// the integer after its last `:`, or `None` when it does not end in one.
///
/// ```
/// use nexus_core::identity::{chunk_native_id, chunk_window_start};
/// let id = chunk_native_id("u-1", None, 1_700_000_100_000);
/// assert_eq!(chunk_window_start(&id), Some(1_700_000_100_000));
/// assert_eq!(chunk_window_start("sleep-7f3a"), None);
/// ```
pub fn chunk_window_start(native_id: &str) -> Option<i64> {
    let (_, last) = native_id.rsplit_once(':')?;
    last.parse().ok()
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
    let digest: [u8; 32] = h.finalize().into();
    // "dev_" + 24 hex digits = the first 12 bytes of the digest.
    let mut buf = *b"dev_000000000000000000000000";
    hex_into(&digest[..12], &mut buf[4..]);
    hex_string(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_start_is_read_back_from_a_chunk_native_id() {
        // Colons in the user or device id and windows before 1970 read back too.
        for (user, device, ws) in [
            ("u-1", None, 1_732_406_400_000),
            ("a:b", Some("dev:7"), 0),
            ("u", Some("d"), -900_000),
        ] {
            assert_eq!(
                chunk_window_start(&chunk_native_id(user, device, ws)),
                Some(ws)
            );
        }
        for native in ["", "123", "u:", "u:12a", "u:1.5"] {
            assert_eq!(chunk_window_start(native), None, "{native:?}");
        }
    }

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
