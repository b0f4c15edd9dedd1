//! Event types and streams (EVENTS.md sections 1, 4 and 5).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The stream tier of an event (EVENTS.md section 1).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Bounded sessions: workouts, sleeps.
    Session,
    /// Point-in-time measurements: weight, blood pressure.
    Snapshot,
    /// Sample series chunked in 15-minute windows.
    Timeseries,
    /// Per-day aggregates: daily summary, readiness, nutrition.
    Aggregate,
    /// State of a user or a connection: profile, connection, sync.
    Profile,
}

impl Stream {
    /// The wire name, e.g. `session`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Session => "session",
            Stream::Snapshot => "snapshot",
            Stream::Timeseries => "timeseries",
            Stream::Aggregate => "aggregate",
            Stream::Profile => "profile",
        }
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! event_types {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $stream:ident; )*) => {
        /// Every Nexus event type. The wire name is the snake_case string (`heart_rate_series`).
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            schemars::JsonSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum EventType {
            $( $(#[$doc])* $variant, )*
        }

        impl EventType {
            /// Every event type, in the order of EVENTS.md.
            pub const ALL: &'static [EventType] = &[ $( EventType::$variant, )* ];

            /// The wire name, e.g. `daily_summary`.
            pub fn as_str(self) -> &'static str {
                match self { $( EventType::$variant => $name, )* }
            }

            /// The stream of this type. A `deletion` has no stream of its own: it travels in the
            /// stream of the deleted type (see [`crate::Item::stream`]); this returns `Profile` for it.
            pub fn stream(self) -> Stream {
                match self { $( EventType::$variant => Stream::$stream, )* }
            }
        }

        impl FromStr for EventType {
            type Err = crate::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $name => Ok(EventType::$variant), )*
                    other => Err(crate::Error::new(
                        crate::ErrorKind::UnsupportedEvent,
                        format!("unknown event type `{other}`"),
                    )),
                }
            }
        }
    };
}

event_types! {
    /// A workout (`session`).
    Activity = "activity", Session;
    /// A sleep period (`session`).
    Sleep = "sleep", Session;
    /// Body composition at one time (`snapshot`).
    BodyMeasurement = "body_measurement", Snapshot;
    /// One blood-pressure reading (`snapshot`).
    BloodPressure = "blood_pressure", Snapshot;
    /// The day's activity totals (`aggregate`).
    DailySummary = "daily_summary", Aggregate;
    /// A readiness/recovery score for a day (`aggregate`).
    DailyReadiness = "daily_readiness", Aggregate;
    /// The day's nutrition totals (`aggregate`).
    Nutrition = "nutrition", Aggregate;
    /// Menstrual cycle state for a day (`aggregate`).
    Menstruation = "menstruation", Aggregate;
    /// The user's profile at the provider (`profile`).
    Profile = "profile", Profile;
    /// The state of a connection (`profile`).
    Connection = "connection", Profile;
    /// Progress of a historical pull or backfill (`profile`).
    Sync = "sync", Profile;
    /// A record the provider deleted (travels in the deleted type's stream).
    Deletion = "deletion", Profile;
    /// Heart rate samples, `ts`, `bpm`.
    HeartRateSeries = "heart_rate_series", Timeseries;
    /// HRV RMSSD samples, `ts`, `rmssd_ms`.
    HrvRmssdSeries = "hrv_rmssd_series", Timeseries;
    /// HRV SDNN samples, `ts`, `sdnn_ms`.
    HrvSdnnSeries = "hrv_sdnn_series", Timeseries;
    /// Step counts per interval, `ts`, `duration_s`, `steps`.
    StepsSeries = "steps_series", Timeseries;
    /// Active energy per interval, `ts`, `duration_s`, `kcal`.
    CaloriesSeries = "calories_series", Timeseries;
    /// Distance per interval, `ts`, `duration_s`, `m`.
    DistanceSeries = "distance_series", Timeseries;
    /// Blood oxygen saturation, `ts`, `spo2_pct`.
    Spo2Series = "spo2_series", Timeseries;
    /// Respiration rate, `ts`, `brpm`.
    RespirationSeries = "respiration_series", Timeseries;
    /// Temperature, `ts`, `temp_c` (item field `temperature_kind`).
    TemperatureSeries = "temperature_series", Timeseries;
    /// Blood glucose, `ts`, `mg_dl`.
    GlucoseSeries = "glucose_series", Timeseries;
    /// Stress level on the provider's scale, `ts`, `level` (item field `scale_max`).
    StressSeries = "stress_series", Timeseries;
}

impl EventType {
    /// True for the `*_series` types, whose items are 15-minute chunks.
    pub fn is_timeseries(self) -> bool {
        self.stream() == Stream::Timeseries
    }

    /// The sample columns of a timeseries type (`ts` first); empty for other types.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            EventType::HeartRateSeries => &["ts", "bpm"],
            EventType::HrvRmssdSeries => &["ts", "rmssd_ms"],
            EventType::HrvSdnnSeries => &["ts", "sdnn_ms"],
            EventType::StepsSeries => &["ts", "duration_s", "steps"],
            EventType::CaloriesSeries => &["ts", "duration_s", "kcal"],
            EventType::DistanceSeries => &["ts", "duration_s", "m"],
            EventType::Spo2Series => &["ts", "spo2_pct"],
            EventType::RespirationSeries => &["ts", "brpm"],
            EventType::TemperatureSeries => &["ts", "temp_c"],
            EventType::GlucoseSeries => &["ts", "mg_dl"],
            EventType::StressSeries => &["ts", "level"],
            _ => &[],
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>().unwrap(), *t);
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert!("nope".parse::<EventType>().is_err());
    }

    #[test]
    fn timeseries_types_have_ts_first() {
        for t in EventType::ALL {
            if t.is_timeseries() {
                assert_eq!(t.columns()[0], "ts", "{t}");
                assert!(t.as_str().ends_with("_series"));
            } else {
                assert!(t.columns().is_empty());
            }
        }
    }
}
