use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One 15-minute chunk of a timeseries (EVENTS.md section 4), the body of every `*_series` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimeseriesChunk {
    /// Window start, epoch ms, aligned to a UTC quarter hour.
    pub window_start: Option<i64>,
    /// Window end (exclusive), epoch ms.
    pub window_end: Option<i64>,
    /// Index of the window in its UTC day, 0..=95.
    #[schemars(range(max = 95))]
    pub chunk_index: Option<u32>,
    /// True when all chunks of the day were emitted, false when more may come, null when unknown.
    pub day_complete: Option<bool>,
    /// Sample interval hint, seconds.
    pub resolution_s: Option<f64>,
    /// Names of the sample columns, `ts` first.
    pub columns: Vec<String>,
    /// One array per sample in `columns` order, sorted by `ts`, one sample per `ts`.
    pub samples: Vec<Sample>,
}

/// A `temperature_series` chunk: a chunk plus the kind of temperature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TemperatureChunk {
    /// The chunk.
    #[serde(flatten)]
    pub chunk: TimeseriesChunk,
    /// `skin`, `body` or `deviation` (from the user's baseline).
    pub temperature_kind: Option<TemperatureKind>,
}

/// A `stress_series` chunk: a chunk plus the top of the provider's scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StressChunk {
    /// The chunk.
    #[serde(flatten)]
    pub chunk: TimeseriesChunk,
    /// The maximum of the provider's stress scale (e.g. 100).
    pub scale_max: Option<f64>,
}

/// What a `temperature_series` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemperatureKind {
    /// Skin temperature.
    Skin,
    /// Core or body temperature.
    Body,
    /// Deviation from the user's baseline.
    Deviation,
}

/// The values of one sample after `ts`, in column order. Up to two are kept inline (every series
/// of EVENTS.md has one or two value columns), so a sample costs no allocation of its own.
pub type Values = smallvec::SmallVec<[Option<f64>; 2]>;

/// One sample: its time (epoch ms) and its values in column order after `ts`.
///
/// Serialized as a JSON array `[ts, v1, v2, ...]`; integral values are written without a
/// fraction (`72`, not `72.0`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Sample time, epoch ms.
    pub ts: i64,
    /// Values after `ts`, in column order; `None` is `null`.
    pub values: Values,
}

impl Sample {
    /// A sample with one value.
    pub fn one(ts: i64, value: f64) -> Sample {
        Sample {
            ts,
            values: smallvec::smallvec![Some(value)],
        }
    }

    /// An interval sample (`ts`, `duration_s`, value), for steps, calories and distance.
    pub fn interval(ts: i64, duration_s: Option<f64>, value: f64) -> Sample {
        Sample {
            ts,
            values: smallvec::smallvec![duration_s, Some(value)],
        }
    }

    /// A sample with `values` in column order.
    pub fn new(ts: i64, values: &[Option<f64>]) -> Sample {
        Sample {
            ts,
            values: Values::from_slice(values),
        }
    }
}

/// Largest integer an f64 holds exactly (2^53).
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

fn write_number<S: SerializeSeq>(seq: &mut S, v: Option<f64>) -> Result<(), S::Error> {
    match v {
        None => seq.serialize_element(&Option::<f64>::None),
        Some(x) if x.fract() == 0.0 && x.abs() < MAX_EXACT => {
            // Exact: the check above bounds x to the i64 range.
            #[allow(clippy::cast_possible_truncation)] // integral and within 2^53, see above
            let i = x as i64;
            seq.serialize_element(&i)
        }
        Some(x) => seq.serialize_element(&x),
    }
}

impl Serialize for Sample {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(1 + self.values.len()))?;
        seq.serialize_element(&self.ts)?;
        for v in &self.values {
            write_number(&mut seq, *v)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Sample {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SampleVisitor;
        impl<'de> Visitor<'de> for SampleVisitor {
            type Value = Sample;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array [ts, value, ...] with ts in epoch ms")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sample, A::Error> {
                let ts: i64 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let mut values = Values::new();
                while let Some(v) = seq.next_element::<Option<f64>>()? {
                    values.push(v);
                }
                Ok(Sample { ts, values })
            }
        }
        deserializer.deserialize_seq(SampleVisitor)
    }
}

impl schemars::JsonSchema for Sample {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Sample".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "[ts (epoch ms), value, ...] in the chunk's column order",
            "type": "array",
            "minItems": 1,
            "prefixItems": [{ "type": "integer" }],
            "items": { "type": ["number", "null"] }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_serialize_as_compact_arrays() {
        let s = Sample {
            ts: 1_700_000_000_000,
            values: smallvec::smallvec![Some(60.0), None, Some(1.5)],
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "[1700000000000,60,null,1.5]");
        let back: Sample = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn a_sample_without_ts_is_an_error() {
        assert!(serde_json::from_str::<Sample>("[]").is_err());
        assert!(serde_json::from_str::<Sample>("[\"x\", 1]").is_err());
    }
}
