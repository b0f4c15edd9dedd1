//! How a body is kept in the `bodies` table (schema 6): request bodies, raw provider records and
//! envelopes are LZ4-compressed when that saves at least an eighth of their size, and kept as they
//! are otherwise. The row's `codec` column says which; rows written before schema 6 have codec
//! [`RAW`].
//!
//! Provider JSON and envelopes compress 4-9x with LZ4 (a Terra day body 123 kB -> 13 kB, one of its
//! envelopes 73 kB -> 18 kB) at 2-4 GB/s, and decompress at 6 GB/s. Every byte written is written
//! twice (WAL, then the checkpoint) and fsynced, so compressing is cheaper than writing, and the
//! store, whose bulk is the raw-record archive, is several times smaller.

use nexus_core::{Error, ErrorKind, Result};

/// The body is stored as it is.
pub(crate) const RAW: i64 = 0;
/// LZ4 block format, preceded by the decompressed size (u32, little endian).
pub(crate) const LZ4: i64 = 1;

/// Bodies smaller than this are kept as they are: too little to gain.
const MIN_LEN: usize = 512;
/// The largest body a stored size prefix may announce: a larger one means corrupt data, and it
/// must not make us allocate gigabytes.
const MAX_LEN: usize = 1 << 30;

/// The compressed form of `raw`, when it is worth keeping (codec [`LZ4`]); `None`: store `raw`.
pub(crate) fn compress(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.len() < MIN_LEN || raw.len() > MAX_LEN {
        return None;
    }
    let packed = lz4_flex::block::compress_prepend_size(raw);
    (packed.len() <= raw.len() - raw.len() / 8).then_some(packed)
}

/// The body stored as `bytes` with `codec`; `body_id` names it in errors.
pub(crate) fn decode(codec: i64, bytes: Vec<u8>, body_id: Option<i64>) -> Result<Vec<u8>> {
    let corrupt = |why: &str| {
        Error::new(
            ErrorKind::Storage,
            format!(
                "sqlite: stored body {} is corrupt: {why}",
                body_id.map_or_else(|| "?".to_owned(), |id| id.to_string())
            ),
        )
    };
    match codec {
        RAW => Ok(bytes),
        LZ4 => {
            let size = bytes
                .get(..4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(|b| u32::from_le_bytes(b) as usize)
                .ok_or_else(|| corrupt("shorter than its size prefix"))?;
            if size > MAX_LEN {
                return Err(corrupt("its size prefix is too large"));
            }
            lz4_flex::block::decompress_size_prepended(&bytes)
                .map_err(|e| corrupt(&format!("LZ4: {e}")))
        }
        other => Err(corrupt(&format!("unknown codec {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(n: usize) -> Vec<u8> {
        let samples: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "{{\"timestamp\":\"2026-08-13T00:{:02}:00Z\",\"bpm\":{}}}",
                    i % 60,
                    50 + i % 40
                )
            })
            .collect();
        format!("{{\"data\":[{}]}}", samples.join(",")).into_bytes()
    }

    #[test]
    fn json_is_compressed_and_round_trips() {
        let raw = json(1000);
        let packed = compress(&raw).expect("JSON compresses");
        assert!(
            packed.len() * 4 < raw.len(),
            "{} of {}",
            packed.len(),
            raw.len()
        );
        assert_eq!(decode(LZ4, packed, Some(1)).unwrap(), raw);
    }

    #[test]
    fn small_or_incompressible_bodies_are_kept_as_they_are() {
        assert_eq!(compress(b"{\"n\":1}"), None);
        // A xorshift stream does not compress.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[0]
            })
            .collect();
        assert_eq!(compress(&noise), None);
        assert_eq!(decode(RAW, noise.clone(), None).unwrap(), noise);
    }

    #[test]
    fn corrupt_bodies_are_errors_not_panics() {
        let packed = compress(&json(200)).unwrap();
        for cut in 0..packed.len() {
            let _ = decode(LZ4, packed[..cut].to_vec(), Some(7));
        }
        for i in 0..packed.len() {
            let mut flipped = packed.clone();
            flipped[i] ^= 0x55;
            let _ = decode(LZ4, flipped, Some(7));
        }
        let huge = [0xff, 0xff, 0xff, 0x7f, 0, 0];
        let e = decode(LZ4, huge.to_vec(), Some(7)).unwrap_err();
        assert!(e.to_string().contains("stored body 7"), "{e}");
        let e = decode(9, vec![1, 2], Some(3)).unwrap_err();
        assert!(e.to_string().contains("unknown codec 9"), "{e}");
    }
}
