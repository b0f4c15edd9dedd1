//! Junction event types (`daily.data.sleep.updated`, `historical.data.heartrate.created`,
//! `provider.connection.error`, ...) and what the adapter does with each.

use nexus_core::{Error, EventType, NotificationAction, Result};

use crate::PROVIDER;

/// Summary resources: one record per `$.data.id`, the latest version replaces earlier ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Summary {
    Activity,
    Sleep,
    Workouts,
    Body,
    Profile,
    Meal,
    MenstrualCycle,
}

/// Timeseries resources: batches of samples under `$.data.data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Series {
    HeartRate,
    Hrv,
    Steps,
    CaloriesActive,
    Distance,
    Glucose,
    BloodOxygen,
    RespiratoryRate,
    BodyTemperature,
    BodyTemperatureDelta,
    StressLevel,
    BloodPressure,
    Weight,
    Fat,
}

impl Series {
    /// Junction's resource name.
    pub(crate) fn resource(self) -> &'static str {
        match self {
            Series::HeartRate => "heartrate",
            Series::Hrv => "hrv",
            Series::Steps => "steps",
            Series::CaloriesActive => "calories_active",
            Series::Distance => "distance",
            Series::Glucose => "glucose",
            Series::BloodOxygen => "blood_oxygen",
            Series::RespiratoryRate => "respiratory_rate",
            Series::BodyTemperature => "body_temperature",
            Series::BodyTemperatureDelta => "body_temperature_delta",
            Series::StressLevel => "stress_level",
            Series::BloodPressure => "blood_pressure",
            Series::Weight => "weight",
            Series::Fat => "fat",
        }
    }
}

/// What an event is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Summary(Summary),
    Series(Series),
    /// `daily.data.workout_stream.created|updated`: shallow, the stream is fetched.
    WorkoutStream,
    /// `historical.data.<resource>.created`: a historical pull finished.
    Historical(String),
    ConnectionCreated,
    ConnectionError,
    /// A Junction wearable event the adapter deliberately does not map (see the crate docs):
    /// acknowledged, nothing emitted.
    Ignored,
}

/// Junction `daily.data` resources that are deliberately not mapped (crate docs, "Not mapped").
pub(crate) const IGNORED_RESOURCES: &[&str] = &[
    "afib_burden",
    "basal_body_temperature",
    "body_mass_index",
    "caffeine",
    "calories_basal",
    "carbohydrates",
    "cholesterol",
    "daylight_exposure",
    "electrocardiogram",
    "electrocardiogram_voltage",
    "fall",
    "floors_climbed",
    "forced_expiratory_volume_1",
    "forced_vital_capacity",
    "handwashing",
    "heart_rate_alert",
    "heart_rate_recovery_one_minute",
    "ige",
    "igg",
    "inhaler_usage",
    "insulin_injection",
    "lean_body_mass",
    "mindfulness_minutes",
    "note",
    "peak_expiratory_flow_rate",
    "sleep_apnea_alert",
    "sleep_breathing_disturbance",
    "sleep_cycle",
    "stand_duration",
    "stand_hour",
    "uv_exposure",
    "vo2_max",
    "waist_circumference",
    "water",
    "wheelchair_push",
    "workout_distance",
    "workout_duration",
    "workout_swimming_stroke",
];

fn summary(resource: &str) -> Option<Summary> {
    Some(match resource {
        "activity" => Summary::Activity,
        "sleep" => Summary::Sleep,
        "workouts" => Summary::Workouts,
        "body" => Summary::Body,
        "profile" => Summary::Profile,
        "meal" => Summary::Meal,
        "menstrual_cycle" => Summary::MenstrualCycle,
        _ => return None,
    })
}

fn series(resource: &str) -> Option<Series> {
    Some(match resource {
        "heartrate" => Series::HeartRate,
        "hrv" => Series::Hrv,
        "steps" => Series::Steps,
        "calories_active" => Series::CaloriesActive,
        "distance" => Series::Distance,
        "glucose" => Series::Glucose,
        "blood_oxygen" => Series::BloodOxygen,
        "respiratory_rate" => Series::RespiratoryRate,
        "body_temperature" => Series::BodyTemperature,
        "body_temperature_delta" => Series::BodyTemperatureDelta,
        "stress_level" => Series::StressLevel,
        "blood_pressure" => Series::BloodPressure,
        "weight" => Series::Weight,
        "fat" => Series::Fat,
        _ => return None,
    })
}

/// Classifies an `event_type`; anything Junction does not document is `UnsupportedEvent`.
pub(crate) fn classify(event_type: &str) -> Result<(Event, NotificationAction)> {
    let unsupported = || {
        Error::unsupported(PROVIDER, format!("event type `{event_type}`")).with_field("event_type")
    };
    let parts: Vec<&str> = event_type.split('.').collect();
    match parts.as_slice() {
        ["daily", "data", resource, action] => {
            let action = match *action {
                "created" => NotificationAction::Create,
                "updated" => NotificationAction::Update,
                // The stream of this workout will never come: nothing to fetch, nothing to emit.
                "unavailable" if *resource == "workout_stream" => {
                    return Ok((Event::Ignored, NotificationAction::Other));
                }
                _ => return Err(unsupported()),
            };
            let event = if let Some(s) = summary(resource) {
                Event::Summary(s)
            } else if let Some(s) = series(resource) {
                Event::Series(s)
            } else if *resource == "workout_stream" {
                Event::WorkoutStream
            } else if IGNORED_RESOURCES.contains(resource) {
                Event::Ignored
            } else {
                return Err(unsupported());
            };
            Ok((event, action))
        }
        ["historical", "data", resource, "created"] if is_resource(resource) => Ok((
            Event::Historical((*resource).to_owned()),
            NotificationAction::Create,
        )),
        ["provider", "connection", "created"] => {
            Ok((Event::ConnectionCreated, NotificationAction::Create))
        }
        ["provider", "connection", "error"] => {
            Ok((Event::ConnectionError, NotificationAction::Update))
        }
        _ => Err(unsupported()),
    }
}

fn is_resource(r: &str) -> bool {
    summary(r).is_some()
        || series(r).is_some()
        || r == "workout_stream"
        || IGNORED_RESOURCES.contains(&r)
}

/// The Nexus event type a Junction resource becomes, for `sync.resource`; `None` where the resource
/// is not mapped or maps to more than one type.
pub(crate) fn resource_event_type(resource: &str) -> Option<EventType> {
    if let Some(s) = summary(resource) {
        return Some(match s {
            Summary::Activity => EventType::DailySummary,
            Summary::Sleep => EventType::Sleep,
            Summary::Workouts => EventType::Activity,
            Summary::Body => EventType::BodyMeasurement,
            Summary::Profile => EventType::Profile,
            Summary::Meal => EventType::Nutrition,
            Summary::MenstrualCycle => EventType::Menstruation,
        });
    }
    Some(match series(resource)? {
        Series::HeartRate => EventType::HeartRateSeries,
        // RMSSD as Junction documents it; a batch in SDNN would go to hrv_sdnn_series.
        Series::Hrv => EventType::HrvRmssdSeries,
        Series::Steps => EventType::StepsSeries,
        Series::CaloriesActive => EventType::CaloriesSeries,
        Series::Distance => EventType::DistanceSeries,
        Series::Glucose => EventType::GlucoseSeries,
        Series::BloodOxygen => EventType::Spo2Series,
        Series::RespiratoryRate => EventType::RespirationSeries,
        Series::BodyTemperature | Series::BodyTemperatureDelta => EventType::TemperatureSeries,
        Series::StressLevel => EventType::StressSeries,
        Series::BloodPressure => EventType::BloodPressure,
        Series::Weight | Series::Fat => EventType::BodyMeasurement,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexus_core::ErrorKind;

    #[test]
    fn event_types_classify() {
        assert_eq!(
            classify("daily.data.sleep.updated").unwrap(),
            (Event::Summary(Summary::Sleep), NotificationAction::Update)
        );
        assert_eq!(
            classify("daily.data.heartrate.created").unwrap().0,
            Event::Series(Series::HeartRate)
        );
        assert_eq!(
            classify("daily.data.workout_stream.created").unwrap().0,
            Event::WorkoutStream
        );
        assert_eq!(
            classify("daily.data.workout_stream.unavailable").unwrap().0,
            Event::Ignored
        );
        assert_eq!(
            classify("daily.data.calories_basal.created").unwrap().0,
            Event::Ignored
        );
        assert_eq!(
            classify("historical.data.workouts.created").unwrap().0,
            Event::Historical("workouts".into())
        );
        assert_eq!(
            classify("provider.connection.error").unwrap().0,
            Event::ConnectionError
        );
        for bad in [
            "daily.data.sleep.deleted",
            "daily.data.teleportation.created",
            "historical.data.nope.created",
            "labtest.order.created",
            "provider.device.created",
            "",
        ] {
            assert_eq!(
                classify(bad).unwrap_err().kind(),
                ErrorKind::UnsupportedEvent,
                "{bad}"
            );
        }
    }

    #[test]
    fn resources_map_to_sync_types() {
        assert_eq!(resource_event_type("workouts"), Some(EventType::Activity));
        assert_eq!(
            resource_event_type("activity"),
            Some(EventType::DailySummary)
        );
        assert_eq!(resource_event_type("fat"), Some(EventType::BodyMeasurement));
        assert_eq!(resource_event_type("workout_stream"), None);
        assert_eq!(resource_event_type("vo2_max"), None);
    }
}
