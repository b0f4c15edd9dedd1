//! The compact binary form of a dedupe state ([`StoredState`]), as the `state` column of
//! `dedupe_states` holds it (schema 3).
//!
//! JSON spent about 445 bytes on the state of a 15-sample heart-rate chunk (the field names, the
//! hex hash, every timestamp in full); this form spends about 130. Fewer bytes per state is fewer
//! pages per commit, and the state rows are the largest share of what the ingest path writes.
//!
//! Layout (integers are LEB128 varints; signed ones zigzag-encoded first):
//!
//! ```text
//! 0x01                      format tag (a JSON state starts with `{`, 0x7B: see `decode`)
//! flags                     1 deleted, 2 provider_version, 4 chunk, 8 hash is 32 raw bytes
//! event_type                varint length + UTF-8
//! revision                  varint
//! content_hash              32 bytes (flag 8), else varint length + UTF-8
//! provider_version          zigzag (flag 2)
//! chunk (flag 4):
//!   chunk flags             1 window_start, 2 window_end, 4 chunk_index, 8 day_complete set,
//!                           16 day_complete value, 32 resolution_s
//!   window_start, window_end zigzag; chunk_index varint; resolution_s f64 little-endian
//!   columns                 varint count, each varint length + UTF-8
//!   samples                 varint count, each: ts as zigzag delta from the previous ts (the first
//!                           from 0), varint value count, each value: 0 null, 1 zigzag integer
//!                           (an integral f64 of magnitude below 2^53), 2 f64 little-endian
//! sample_versions           varint count, each: ts as zigzag delta, version zigzag
//! ```
//!
//! Every value round-trips exactly (`-0.0` and non-integral values keep their f64 bits).

use std::collections::BTreeMap;

use nexus_core::dedupe::StoredState;
use nexus_core::items::{Sample, TimeseriesChunk};
use nexus_core::{Error, ErrorKind, EventType, Result};

const TAG: u8 = 0x01;

const DELETED: u8 = 1;
const VERSION: u8 = 2;
const CHUNK: u8 = 4;
const RAW_HASH: u8 = 8;

const WINDOW_START: u8 = 1;
const WINDOW_END: u8 = 2;
const CHUNK_INDEX: u8 = 4;
const DAY_COMPLETE_SET: u8 = 8;
const DAY_COMPLETE: u8 = 16;
const RESOLUTION: u8 = 32;

const VALUE_NULL: u8 = 0;
const VALUE_INT: u8 = 1;
const VALUE_F64: u8 = 2;

/// Largest magnitude below which an integral f64 is stored as an integer (2^53: exact in f64).
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// Encodes `s` in the compact form.
pub(crate) fn encode(s: &StoredState) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + s.chunk.as_ref().map_or(0, |c| c.samples.len() * 6));
    let raw_hash = hex32(&s.content_hash);
    let mut flags = 0;
    if s.deleted {
        flags |= DELETED;
    }
    if s.provider_version.is_some() {
        flags |= VERSION;
    }
    if s.chunk.is_some() {
        flags |= CHUNK;
    }
    if raw_hash.is_some() {
        flags |= RAW_HASH;
    }
    out.push(TAG);
    out.push(flags);
    put_str(&mut out, s.event_type.as_str());
    put_u64(&mut out, u64::from(s.revision));
    match raw_hash {
        Some(h) => out.extend_from_slice(&h),
        None => put_str(&mut out, &s.content_hash),
    }
    if let Some(v) = s.provider_version {
        put_i64(&mut out, v);
    }
    if let Some(c) = &s.chunk {
        put_chunk(&mut out, c);
    }
    put_len(&mut out, s.sample_versions.len());
    let mut prev = 0i64;
    for (&ts, &version) in &s.sample_versions {
        put_i64(&mut out, ts.wrapping_sub(prev));
        prev = ts;
        put_i64(&mut out, version);
    }
    out
}

/// Decodes a stored state: the compact form, or JSON (a `{` first byte), which is how schema 1
/// and 2 kept states.
pub(crate) fn decode(bytes: &[u8]) -> Result<StoredState> {
    match bytes.first() {
        Some(&TAG) => Reader { bytes, at: 1 }.state(),
        Some(b'{') => serde_json::from_slice(bytes).map_err(|e| {
            Error::new(
                ErrorKind::Storage,
                "sqlite: a JSON dedupe state is not valid",
            )
            .with_source(e)
        }),
        _ => Err(corrupt("unknown format tag")),
    }
}

fn corrupt(why: &str) -> Error {
    Error::new(
        ErrorKind::Storage,
        format!("sqlite: a stored dedupe state is corrupt ({why})"),
    )
}

fn put_chunk(out: &mut Vec<u8>, c: &TimeseriesChunk) {
    let mut flags = 0;
    if c.window_start.is_some() {
        flags |= WINDOW_START;
    }
    if c.window_end.is_some() {
        flags |= WINDOW_END;
    }
    if c.chunk_index.is_some() {
        flags |= CHUNK_INDEX;
    }
    if let Some(done) = c.day_complete {
        flags |= DAY_COMPLETE_SET;
        if done {
            flags |= DAY_COMPLETE;
        }
    }
    if c.resolution_s.is_some() {
        flags |= RESOLUTION;
    }
    out.push(flags);
    if let Some(v) = c.window_start {
        put_i64(out, v);
    }
    if let Some(v) = c.window_end {
        put_i64(out, v);
    }
    if let Some(v) = c.chunk_index {
        put_u64(out, u64::from(v));
    }
    if let Some(v) = c.resolution_s {
        out.extend_from_slice(&v.to_le_bytes());
    }
    put_len(out, c.columns.len());
    for col in &c.columns {
        put_str(out, col);
    }
    put_len(out, c.samples.len());
    let mut prev = 0i64;
    for s in &c.samples {
        put_i64(out, s.ts.wrapping_sub(prev));
        prev = s.ts;
        put_len(out, s.values.len());
        for v in &s.values {
            match *v {
                None => out.push(VALUE_NULL),
                Some(x) if is_exact_int(x) => {
                    out.push(VALUE_INT);
                    // Exact: is_exact_int checked |x| < 2^53 and no fraction.
                    put_i64(out, x as i64);
                }
                Some(x) => {
                    out.push(VALUE_F64);
                    out.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
    }
}

fn is_exact_int(x: f64) -> bool {
    x.fract() == 0.0 && x.abs() < MAX_EXACT && !(x == 0.0 && x.is_sign_negative())
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    // Lowercase only: an uppercase hash would not come back as written.
    if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        // The low 7 bits, with the continuation bit.
        out.push((v & 0x7f) as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    put_u64(out, n as u64);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn state(mut self) -> Result<StoredState> {
        let flags = self.byte()?;
        let event_type: EventType = self
            .str()?
            .parse()
            .map_err(|_| corrupt("unknown event type"))?;
        let revision = u32::try_from(self.u64()?).map_err(|_| corrupt("revision out of range"))?;
        let content_hash = if flags & RAW_HASH != 0 {
            hex::encode(self.take(32)?)
        } else {
            self.str()?.to_owned()
        };
        let provider_version = if flags & VERSION != 0 {
            Some(self.i64()?)
        } else {
            None
        };
        let chunk = if flags & CHUNK != 0 {
            Some(self.chunk()?)
        } else {
            None
        };
        let mut sample_versions = BTreeMap::new();
        let n = self.len()?;
        let mut prev = 0i64;
        for _ in 0..n {
            let ts = prev.wrapping_add(self.i64()?);
            prev = ts;
            sample_versions.insert(ts, self.i64()?);
        }
        if self.at != self.bytes.len() {
            return Err(corrupt("trailing bytes"));
        }
        Ok(StoredState {
            event_type,
            revision,
            content_hash,
            provider_version,
            deleted: flags & DELETED != 0,
            chunk,
            sample_versions,
        })
    }

    fn chunk(&mut self) -> Result<TimeseriesChunk> {
        let flags = self.byte()?;
        let window_start = (flags & WINDOW_START != 0)
            .then(|| self.i64())
            .transpose()?;
        let window_end = (flags & WINDOW_END != 0).then(|| self.i64()).transpose()?;
        let chunk_index = (flags & CHUNK_INDEX != 0)
            .then(|| {
                self.u64()
                    .and_then(|v| u32::try_from(v).map_err(|_| corrupt("chunk index")))
            })
            .transpose()?;
        let day_complete = (flags & DAY_COMPLETE_SET != 0).then_some(flags & DAY_COMPLETE != 0);
        let resolution_s = (flags & RESOLUTION != 0).then(|| self.f64()).transpose()?;
        let n = self.len()?;
        let mut columns = Vec::with_capacity(n);
        for _ in 0..n {
            columns.push(self.str()?.to_owned());
        }
        let n = self.len()?;
        let mut samples = Vec::with_capacity(n);
        let mut prev = 0i64;
        for _ in 0..n {
            let ts = prev.wrapping_add(self.i64()?);
            prev = ts;
            let k = self.len()?;
            let mut values = nexus_core::items::Values::with_capacity(k);
            for _ in 0..k {
                values.push(match self.byte()? {
                    VALUE_NULL => None,
                    // An integer below 2^53 in magnitude, as written: exact in f64.
                    VALUE_INT => Some(self.i64()? as f64),
                    VALUE_F64 => Some(self.f64()?),
                    _ => return Err(corrupt("unknown value tag")),
                });
            }
            samples.push(Sample { ts, values });
        }
        Ok(TimeseriesChunk {
            window_start,
            window_end,
            chunk_index,
            day_complete,
            resolution_s,
            columns,
            samples,
        })
    }

    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| corrupt("truncated"))?;
        let out = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| corrupt("truncated"))?;
        self.at = end;
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?.first().copied().unwrap_or(0))
    }

    fn u64(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("varint too long"))
    }

    fn i64(&mut self) -> Result<i64> {
        let z = self.u64()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    /// A count, bounded by the bytes left (each counted thing takes at least one byte), so a
    /// corrupt count cannot ask for a huge allocation.
    fn len(&mut self) -> Result<usize> {
        let n = usize::try_from(self.u64()?).map_err(|_| corrupt("count out of range"))?;
        if n > self.bytes.len().saturating_sub(self.at) {
            return Err(corrupt("count larger than the data"));
        }
        Ok(n)
    }

    fn f64(&mut self) -> Result<f64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(f64::from_le_bytes(b))
    }

    fn str(&mut self) -> Result<&str> {
        let n = self.len()?;
        std::str::from_utf8(self.take(n)?).map_err(|_| corrupt("text is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk_state() -> StoredState {
        StoredState {
            event_type: EventType::HeartRateSeries,
            revision: 3,
            content_hash: "faa49ee17b6de4e9b72e3067f366e6875e33227a80b4a9d2c77804690ae5174f".into(),
            provider_version: Some(1_786_640_400_123),
            deleted: false,
            chunk: Some(TimeseriesChunk {
                window_start: Some(1_786_640_400_000),
                window_end: Some(1_786_641_300_000),
                chunk_index: Some(68),
                day_complete: Some(false),
                resolution_s: Some(60.0),
                columns: vec!["ts".into(), "bpm".into()],
                samples: (0..15)
                    .map(|i| Sample {
                        ts: 1_786_640_400_000 + i * 60_000,
                        values: nexus_core::items::Values::from_slice(&[Some(
                            68.0 + (i % 2) as f64 * 4.0,
                        )]),
                    })
                    .collect(),
            }),
            sample_versions: (0..15)
                .map(|i| (1_786_640_400_000 + i * 60_000, 1_786_640_400_123))
                .collect(),
        }
    }

    #[test]
    fn a_chunk_state_round_trips_and_is_far_smaller_than_json() {
        let s = chunk_state();
        let bytes = encode(&s);
        assert_eq!(decode(&bytes).unwrap(), s);
        let json = serde_json::to_vec(&s).unwrap();
        assert!(
            bytes.len() * 3 < json.len(),
            "{} bytes vs {} of JSON",
            bytes.len(),
            json.len()
        );
    }

    #[test]
    fn awkward_values_keep_their_bits() {
        let mut s = chunk_state();
        let c = s.chunk.as_mut().unwrap();
        c.columns = vec!["ts".into(), "a".into(), "b".into(), "c".into()];
        c.day_complete = None;
        c.resolution_s = None;
        c.samples = vec![
            Sample {
                ts: -5,
                values: nexus_core::items::Values::from_slice(&[Some(-0.0), None, Some(0.1)]),
            },
            Sample {
                ts: i64::MAX,
                values: nexus_core::items::Values::from_slice(&[
                    Some(MAX_EXACT),
                    Some(-MAX_EXACT + 1.0),
                    Some(f64::MAX),
                ]),
            },
            Sample {
                ts: i64::MIN,
                values: nexus_core::items::Values::from_slice(&[
                    Some(f64::MIN_POSITIVE),
                    Some(1e300),
                    Some(-7.0),
                ]),
            },
        ];
        s.sample_versions = [(i64::MIN, i64::MAX), (0, -1), (i64::MAX, i64::MIN)]
            .into_iter()
            .collect();
        s.content_hash = "not-a-hex-hash".into();
        s.provider_version = None;
        let back = decode(&encode(&s)).unwrap();
        assert_eq!(back, s);
        let b = &back.chunk.as_ref().unwrap().samples[0].values;
        assert!(b[0].unwrap().is_sign_negative());
    }

    #[test]
    fn a_deletion_state_round_trips() {
        let s = StoredState {
            event_type: EventType::Deletion,
            revision: u32::MAX,
            content_hash: "AB".repeat(32),
            provider_version: Some(-1),
            deleted: true,
            chunk: None,
            sample_versions: BTreeMap::new(),
        };
        assert_eq!(decode(&encode(&s)).unwrap(), s);
    }

    #[test]
    fn json_states_of_older_schemas_are_still_read() {
        let s = chunk_state();
        assert_eq!(decode(&serde_json::to_vec(&s).unwrap()).unwrap(), s);
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        let bytes = encode(&chunk_state());
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_err(), "prefix of {n} bytes decoded");
        }
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                // Either an error or some state; never a panic or a huge allocation.
                let _ = decode(&b);
            }
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode(&long).is_err());
    }
}
