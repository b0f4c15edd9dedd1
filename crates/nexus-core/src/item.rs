//! A data item: the common fields of EVENTS.md section 2 followed by its type's own fields.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::identity::source_id;
use crate::items::*;
use crate::{EventType, Stream};

/// `data_version` of every item type today.
pub const DATA_VERSION: &str = "1.1";

/// How the data was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMode {
    /// Entered by hand.
    Manual,
    /// Recorded by a device.
    Automatic,
}

macro_rules! item_bodies {
    ($( $variant:ident($ty:ty) ),* $(,)?) => {
        /// The type-specific part of an item; the variant decides the item's `event_type`.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)] // items are built once and moved, never copied in bulk
        pub enum ItemBody {
            $( #[doc = concat!("`", stringify!($variant), "` fields.")] $variant($ty), )*
        }

        impl ItemBody {
            /// The event type this body belongs to.
            pub fn event_type(&self) -> EventType {
                match self { $( ItemBody::$variant(_) => EventType::$variant, )* }
            }

            /// Deserializes the body of an item of `event_type` from its JSON fields.
            pub fn from_value(
                event_type: EventType,
                value: serde_json::Value,
            ) -> Result<ItemBody, serde_json::Error> {
                Ok(match event_type {
                    $( EventType::$variant => ItemBody::$variant(serde_json::from_value(value)?), )*
                })
            }
        }

        impl Serialize for ItemBody {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self { $( ItemBody::$variant(b) => b.serialize(s), )* }
            }
        }
    };
}

item_bodies! {
    Activity(Activity),
    Sleep(Sleep),
    BodyMeasurement(BodyMeasurement),
    BloodPressure(BloodPressure),
    DailySummary(DailySummary),
    DailyReadiness(DailyReadiness),
    Nutrition(Nutrition),
    Menstruation(Menstruation),
    Profile(Profile),
    Connection(Connection),
    Sync(Sync),
    Deletion(Deletion),
    HeartRateSeries(TimeseriesChunk),
    HrvRmssdSeries(TimeseriesChunk),
    HrvSdnnSeries(TimeseriesChunk),
    StepsSeries(TimeseriesChunk),
    CaloriesSeries(TimeseriesChunk),
    DistanceSeries(TimeseriesChunk),
    Spo2Series(TimeseriesChunk),
    RespirationSeries(TimeseriesChunk),
    TemperatureSeries(TemperatureChunk),
    GlucoseSeries(TimeseriesChunk),
    StressSeries(StressChunk),
}

impl ItemBody {
    /// The timeseries chunk of a `*_series` body.
    pub fn chunk(&self) -> Option<&TimeseriesChunk> {
        match self {
            ItemBody::HeartRateSeries(c)
            | ItemBody::HrvRmssdSeries(c)
            | ItemBody::HrvSdnnSeries(c)
            | ItemBody::StepsSeries(c)
            | ItemBody::CaloriesSeries(c)
            | ItemBody::DistanceSeries(c)
            | ItemBody::Spo2Series(c)
            | ItemBody::RespirationSeries(c)
            | ItemBody::GlucoseSeries(c) => Some(c),
            ItemBody::TemperatureSeries(t) => Some(&t.chunk),
            ItemBody::StressSeries(s) => Some(&s.chunk),
            _ => None,
        }
    }

    /// The timeseries chunk of a `*_series` body, mutable.
    pub fn chunk_mut(&mut self) -> Option<&mut TimeseriesChunk> {
        match self {
            ItemBody::HeartRateSeries(c)
            | ItemBody::HrvRmssdSeries(c)
            | ItemBody::HrvSdnnSeries(c)
            | ItemBody::StepsSeries(c)
            | ItemBody::CaloriesSeries(c)
            | ItemBody::DistanceSeries(c)
            | ItemBody::Spo2Series(c)
            | ItemBody::RespirationSeries(c)
            | ItemBody::GlucoseSeries(c) => Some(c),
            ItemBody::TemperatureSeries(t) => Some(&mut t.chunk),
            ItemBody::StressSeries(s) => Some(&mut s.chunk),
            _ => None,
        }
    }

    /// Wraps a chunk in the body of timeseries type `event_type`; `None` for other types.
    /// `temperature_series` and `stress_series` get a null `temperature_kind` / `scale_max`.
    pub fn from_chunk(event_type: EventType, chunk: TimeseriesChunk) -> Option<ItemBody> {
        Some(match event_type {
            EventType::HeartRateSeries => ItemBody::HeartRateSeries(chunk),
            EventType::HrvRmssdSeries => ItemBody::HrvRmssdSeries(chunk),
            EventType::HrvSdnnSeries => ItemBody::HrvSdnnSeries(chunk),
            EventType::StepsSeries => ItemBody::StepsSeries(chunk),
            EventType::CaloriesSeries => ItemBody::CaloriesSeries(chunk),
            EventType::DistanceSeries => ItemBody::DistanceSeries(chunk),
            EventType::Spo2Series => ItemBody::Spo2Series(chunk),
            EventType::RespirationSeries => ItemBody::RespirationSeries(chunk),
            EventType::GlucoseSeries => ItemBody::GlucoseSeries(chunk),
            EventType::TemperatureSeries => ItemBody::TemperatureSeries(TemperatureChunk {
                chunk,
                temperature_kind: None,
            }),
            EventType::StressSeries => ItemBody::StressSeries(StressChunk {
                chunk,
                scale_max: None,
            }),
            _ => return None,
        })
    }
}

/// One data item: common fields plus a typed body. Serializes with the common fields first
/// (`event_type`, `data_version`, `source_id`, `provider_ref`, `device_id`, `payload_ts`,
/// `revision`, `capture_mode`), then the body's fields in declaration order; every field is
/// always present, `null` when the provider gave no value.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `"1.1"`.
    pub data_version: String,
    /// `sha256_hex(event_type:provider:native_id)`.
    pub source_id: String,
    /// The provider's native id (or composed native id).
    pub provider_ref: String,
    /// A `devices[].device_id` of the envelope, or null.
    pub device_id: Option<String>,
    /// Authoritative time of the data, epoch ms.
    pub payload_ts: i64,
    /// 1 on first delivery, +1 on each change. Set by the dedupe engine.
    pub revision: u32,
    /// `manual`, `automatic` or null.
    pub capture_mode: Option<CaptureMode>,
    /// The type-specific fields.
    pub body: ItemBody,
}

impl Item {
    /// A new item for `provider` whose native id is `native_id`: computes `source_id` from the
    /// body's event type, sets `provider_ref` to the native id, `revision` 1, no device, no capture
    /// mode.
    pub fn new(provider: &str, native_id: &str, payload_ts: i64, body: ItemBody) -> Item {
        Item::with_native_id(provider, native_id.to_owned(), payload_ts, body)
    }

    /// [`Item::new`] taking the native id by value, so a composed id is not copied again.
    pub(crate) fn with_native_id(
        provider: &str,
        native_id: String,
        payload_ts: i64,
        body: ItemBody,
    ) -> Item {
        Item {
            data_version: DATA_VERSION.to_owned(),
            source_id: source_id(body.event_type(), provider, &native_id),
            provider_ref: native_id,
            device_id: None,
            payload_ts,
            revision: 1,
            capture_mode: None,
            body,
        }
    }

    /// A `deletion` of the item of `deleted_event_type` whose native id is `native_id`: it carries
    /// the deleted item's `source_id` (not one computed for `deletion`), `payload_ts` =
    /// `deleted_at`. The dedupe engine sets its revision to the deleted item's last + 1.
    pub fn deletion(
        provider: &str,
        deleted_event_type: EventType,
        native_id: &str,
        deleted_at: i64,
    ) -> Item {
        Item {
            data_version: DATA_VERSION.to_owned(),
            source_id: source_id(deleted_event_type, provider, native_id),
            provider_ref: native_id.to_owned(),
            device_id: None,
            payload_ts: deleted_at,
            revision: 1,
            capture_mode: None,
            body: ItemBody::Deletion(Deletion {
                deleted_event_type,
                deleted_at,
            }),
        }
    }

    /// Sets the device id.
    pub fn with_device(mut self, device_id: Option<String>) -> Item {
        self.device_id = device_id;
        self
    }

    /// Sets the capture mode.
    pub fn with_capture_mode(mut self, mode: Option<CaptureMode>) -> Item {
        self.capture_mode = mode;
        self
    }

    /// The event type (from the body).
    pub fn event_type(&self) -> EventType {
        self.body.event_type()
    }

    /// The stream the item travels in: its type's, or for a `deletion` the deleted type's.
    pub fn stream(&self) -> Stream {
        match &self.body {
            ItemBody::Deletion(d) => d.deleted_event_type.stream(),
            b => b.event_type().stream(),
        }
    }
}

#[derive(Serialize)]
struct ItemRef<'a> {
    event_type: EventType,
    data_version: &'a str,
    source_id: &'a str,
    provider_ref: &'a str,
    device_id: &'a Option<String>,
    payload_ts: i64,
    revision: u32,
    capture_mode: &'a Option<CaptureMode>,
    #[serde(flatten)]
    body: &'a ItemBody,
}

impl Item {
    /// A borrowed view that serializes exactly like the item, but with `revision` replaced:
    /// the dedupe engine hashes content with revision 0 without cloning the item.
    pub(crate) fn view_with_revision(&self, revision: u32) -> impl Serialize + '_ {
        ItemRef {
            event_type: self.event_type(),
            data_version: &self.data_version,
            source_id: &self.source_id,
            provider_ref: &self.provider_ref,
            device_id: &self.device_id,
            payload_ts: self.payload_ts,
            revision,
            capture_mode: &self.capture_mode,
            body: &self.body,
        }
    }
}

impl Serialize for Item {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.view_with_revision(self.revision).serialize(s)
    }
}

#[derive(Deserialize)]
struct Common {
    event_type: EventType,
    data_version: String,
    source_id: String,
    provider_ref: String,
    device_id: Option<String>,
    payload_ts: i64,
    revision: u32,
    capture_mode: Option<CaptureMode>,
}

const COMMON_FIELDS: &[&str] = &[
    "event_type",
    "data_version",
    "source_id",
    "provider_ref",
    "device_id",
    "payload_ts",
    "revision",
    "capture_mode",
];

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut map = serde_json::Map::deserialize(d)?;
        let mut common = serde_json::Map::new();
        for key in COMMON_FIELDS {
            if let Some(v) = map.remove(*key) {
                common.insert((*key).to_owned(), v);
            }
        }
        let c: Common =
            serde_json::from_value(serde_json::Value::Object(common)).map_err(D::Error::custom)?;
        let body = ItemBody::from_value(c.event_type, serde_json::Value::Object(map))
            .map_err(|e| D::Error::custom(format!("{} item: {e}", c.event_type)))?;
        Ok(Item {
            data_version: c.data_version,
            source_id: c.source_id,
            provider_ref: c.provider_ref,
            device_id: c.device_id,
            payload_ts: c.payload_ts,
            revision: c.revision,
            capture_mode: c.capture_mode,
            body,
        })
    }
}

#[cfg(test)]
mod tests;
