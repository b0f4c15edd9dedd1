//! # nexus-adapter-terra
//!
//! The Terra adapter (`provider` = `terra`). Terra pushes signed webhooks that carry the data
//! itself, so the adapter verifies, parses and normalizes; it never fetches.
//!
//! - **Signature:** `terra-signature: t=<unix s>,v1=<hex>[,v1=...]`, HMAC-SHA256 of
//!   `t + "." + raw body` with the destination's signing secret (app secret `webhook_secret`),
//!   checked on the raw bytes before parsing, constant-time, any `v1` accepted, other schemes
//!   ignored. Timestamp tolerance: app setting `signature_tolerance_s`, default 300 s.
//! - **Notification id:** the `terra-reference` header.
//! - **Routing:** `user.user_id` (`new_user.user_id` for `user_reauth`, whose `old_user.user_id` is
//!   the notification's `previous_provider_user_id`: the gateway moves that connection to the new id).
//! - **Acknowledged, nothing emitted:** `healthcheck`, `processing`.
//! - **Unsupported** (`unsupported_event`): any other `type`, e.g. `s3_payload` (a link to a
//!   payload too large for a webhook; following it is not implemented) and `auth_cancelled`.
//!
//! ## Identity (composed native ids, part of this adapter's contract)
//!
//! | Nexus item | native id (`provider_ref`) |
//! |---|---|
//! | `activity`, `sleep` | `metadata.summary_id`; without one `<user_id>:<metadata.start_time>` (the raw string) |
//! | `daily_summary`, `nutrition`, `menstruation` | `<user_id>:<YYYY-MM-DD>`, the local date of `metadata.start_time` (Terra overwrites these per date) |
//! | `body_measurement`, `blood_pressure` | `<user_id>:<YYYY-MM-DD>:<epoch ms of the reading>` (see below) |
//! | `*_series` chunks | `<user_id>:<device key>:<window_start>`; temperature adds `/skin` or `/body` to the device key |
//! | `profile`, `connection` | `<user_id>` |
//! | `sync` | `<user_id>:<reference>` (body `reference`, else `terra-reference`), `<user_id>` without either |
//!
//! Deviation from EVENTS.md section 6, and why: a Terra `body` record is one day but holds a list
//! of measurements and blood-pressure readings, each with its own time, and Nexus emits one
//! snapshot per reading. One id per date would make two readings of a day collide, so the
//! date-scoped id carries the reading's time as well. A re-delivered day yields the same ids; a
//! corrected reading yields a new revision.
//!
//! **Devices.** The underlying source `user.provider` (`GARMIN`, `OURA`, ...) is never the
//! `provider`; it becomes the device registry entry: `name` = `user.provider`, `model` =
//! `device_data.name`, `provider_device_id` = `device_data.serial_number`. The device key is
//! `<user.provider>` or `<user.provider>:<serial_number or device name>` when `device_data` names
//! a device; `device_id` = `identity::device_id("terra", key)`.
//!
//! **Times.** Terra writes ISO 8601 with microseconds and an offset
//! (`2026-07-01T07:04:11.000000+01:00`). `utc_offset_s` is that offset (negative and half-hour
//! offsets included); Terra gives no IANA zone, so `timezone` is null. A timestamp without an
//! offset (Terra: "the time corresponds to the user's local time") cannot be placed on the
//! timeline and is refused as `malformed_payload` rather than guessed. Terra's day records start
//! at local midnight: `date` is `metadata.start_time`'s own calendar date and `payload_ts` its
//! local midnight. Terra's connection, profile and sync bodies carry no event time: their
//! `payload_ts` is 0 and `occurred_at` null, so identical re-deliveries stay identical.
//!
//! **Versions.** Terra gives a modification time only for menstruation
//! (`menstruation_data.last_updated_time`); it is the provider version there, so an older
//! re-delivery of a day is dropped as stale. The `x-terra-ordering-timestamp` header would order
//! every type, but `normalize` sees only the record, not the request headers.
//!
//! **Deletes.** An activity with `metadata.upload_type` 4 (Terra `UploadType.Delete`) becomes a
//! `deletion` of that activity's `source_id`. Terra gives no deletion time, so `deleted_at` is
//! when Nexus learned of it: the record's `fetched_at`, which `parse` sets to the `t` of the
//! `terra-signature` header (when Terra sent the webhook); without one, the workout's start.
//!
//! **Logging apps.** Nutrition and menstruation come from logging apps
//! (`user.provider` `CRONOMETER`, `CLUE`, ...): that app is their registry entry.
//!
//! ## Mapping table
//!
//! Units as Terra documents them: seconds, meters, kcal, Celsius, percent 0-100, bpm, ms (HRV),
//! mg/dL, grams (body masses), cm (height), m/s, watts.
//!
//! | Terra type / field | Nexus type / field |
//! |---|---|
//! | **activity** | **`activity`** (stream `session`) |
//! | `metadata.start_time` / `end_time` | `start_ts` / `end_ts`, `utc_offset_s` (from `start_time`), `payload_ts` = `start_ts` |
//! | `metadata.type` (Terra `ActivityType` code) | `activity_type` (8, 56, 57, 58, 88, 133 running; 7, 93, 94, 95 walking; 1, 14-19 cycling; 82-84 swimming; 35 hiking; 80, 97 strength_training; 100 yoga; 53, 54 rowing; 25 elliptical; 114 hiit; else other), `provider_activity_type` = the code as a string |
//! | `metadata.name` | `name` |
//! | `metadata.upload_type` 1 / 2 | `capture_mode` `automatic` / `manual`; 4 -> `deletion`; a value outside Terra's `UploadType` (0-6) is refused |
//! | `distance_data.summary.distance_meters` | `distance_m` |
//! | `distance_data.summary.steps` | `steps` |
//! | `distance_data.summary.elevation.gain_actual_meters` | `elevation_gain_m` |
//! | `calories_data.total_burned_calories` | `calories_total_kcal` |
//! | `calories_data.net_activity_calories` | `calories_active_kcal` |
//! | `heart_rate_data.summary.avg_hr_bpm` / `max_hr_bpm` | `avg_heart_rate_bpm` / `max_heart_rate_bpm` |
//! | `heart_rate_data.summary.hr_zone_data[]` `zone`, `duration_seconds` | `heart_rate_zones[]` `zone`, `duration_s` (`min_bpm`/`max_bpm` null: Terra gives % of max HR) |
//! | `movement_data.avg_speed_meters_per_second` / `max_speed_meters_per_second` | `avg_speed_mps` / `max_speed_mps` |
//! | `power_data.avg_watts` | `avg_power_w` |
//! | **sleep** | **`sleep`** (stream `session`) |
//! | `metadata.start_time` / `end_time` / `is_nap` | `start_ts` / `end_ts` / `is_nap`, `utc_offset_s` |
//! | `metadata.upload_type` (`SleepUploadType`) 1 / 2 | `capture_mode` `manual` / `automatic` (0, 3, 4: null; other values refused) |
//! | `sleep_durations_data.other.duration_in_bed_seconds` | `in_bed_s` |
//! | `sleep_durations_data.asleep.duration_asleep_state_seconds` | `asleep_s` |
//! | `sleep_durations_data.asleep.duration_light_sleep_state_seconds` / `duration_deep_sleep_state_seconds` / `duration_REM_sleep_state_seconds` | `light_s` / `deep_s` / `rem_s` |
//! | `sleep_durations_data.awake.duration_awake_state_seconds` | `awake_s` |
//! | `sleep_durations_data.awake.sleep_latency_seconds` | `latency_s` |
//! | `sleep_durations_data.sleep_efficiency` (percent) | `efficiency_pct` |
//! | `sleep_durations_data.hypnogram_samples[]` (`SleepLevel`) | `stages[]`: each mark lasts until the next, the last until `end_time`; 1 awake, 3 out of bed -> `awake`; 4 `light`; 5 `deep`; 6 `rem`; 0 unknown, 2 sleeping (unstaged) -> `unknown` |
//! | `heart_rate_data.summary.avg_hr_bpm` / `min_hr_bpm` | `avg_heart_rate_bpm` / `min_heart_rate_bpm` |
//! | `heart_rate_data.summary.avg_hrv_rmssd` / `avg_hrv_sdnn` | `avg_hrv_rmssd_ms` / `avg_hrv_sdnn_ms` (never mixed) |
//! | `respiration_data.breaths_data.avg_breaths_per_min` | `avg_respiration_brpm` |
//! | `respiration_data.oxygen_saturation_data.avg_saturation_percentage` | `avg_spo2_pct` |
//! | `temperature_data.delta` | `temp_deviation_c` |
//! | `scores.sleep_score` | `score` |
//! | **daily** | **`daily_summary`** (stream `aggregate`) |
//! | local date of `metadata.start_time` | `date`, `payload_ts` = its local midnight |
//! | `distance_data.steps` / `distance_meters` / `floors_climbed` | `steps` / `distance_m` / `floors` |
//! | `calories_data.total_burned_calories` / `net_activity_calories` | `calories_total_kcal` / `calories_active_kcal` |
//! | `active_durations_data.activity_seconds` / `inactivity_seconds` | `active_minutes` / `sedentary_minutes` (seconds / 60) |
//! | `heart_rate_data.summary.resting_hr_bpm` | `resting_heart_rate_bpm` |
//! | **body** | **`body_measurement`** (stream `snapshot`), one per `measurements_data.measurements[]` |
//! | `measurement_time` | `payload_ts` |
//! | `weight_kg` / `BMI` | `weight_kg` / `bmi` |
//! | `height_cm` | `height_m` (/ 100) |
//! | `bodyfat_percentage` / `water_percentage` | `body_fat_pct` / `body_water_pct` |
//! | `muscle_mass_g` / `bone_mass_g` / `lean_mass_g` | `muscle_mass_kg` / `bone_mass_kg` / `lean_mass_kg` (/ 1000) |
//! | `blood_pressure_data.blood_pressure_samples[]` `timestamp`, `systolic_bp`, `diastolic_bp` | **`blood_pressure`** `payload_ts`, `systolic_mmhg`, `diastolic_mmhg` (`pulse_bpm` null: not given) |
//! | **nutrition** | **`nutrition`** (stream `aggregate`) |
//! | `summary.macros.calories` | `calories_kcal` |
//! | `summary.macros.protein_g` / `carbohydrates_g` / `fat_g` / `fiber_g` / `sugar_g` / `sodium_mg` | same names |
//! | `summary.water_ml` | `water_ml` |
//! | **menstruation** | **`menstruation`** (stream `aggregate`) |
//! | `menstruation_data.day_in_cycle` | `cycle_day` |
//! | `menstruation_data.menstruation_flow[]` (latest by `timestamp`) | `flow`: 1 none, 2 light, 3 medium, 4 heavy, 0 unknown and 5 ("had", no amount) -> `unknown` |
//! | `menstruation_data.current_phase` | `phase` (a number in older payloads becomes its string) |
//! | `menstruation_data.last_updated_time` | the provider version (stale detection) |
//! | `menstruation_data.is_predicted_cycle` true | nothing emitted: a forecast, not a record |
//! | **athlete** | **`profile`** (stream `profile`) |
//! | `user.user_id` | `provider_user_id` |
//! | `athlete.date_of_birth` | `birth_year` (its year) |
//! | `athlete.sex` | `sex` (lowercased) |
//! | **auth, deauth, user_reauth, access_revoked, connection_error, google_no_datasource, permission_change** | **`connection`**: see `normalize/connection.rs`; `message` (auth error: `reason`) -> `reason`, `user.scopes` -> `scopes`, `scopes_added`/`scopes_removed` split on commas, `old_user.user_id` -> `previous_provider_user_id` |
//! | **large_request_processing, large_request_sending, rate_limit_hit** | **`sync`**: see `normalize/sync.rs` |
//! | *embedded samples* (activity, daily, sleep, body) | **timeseries chunks** |
//! | `heart_rate_data.detailed.hr_samples[]` `bpm` | `heart_rate_series` `bpm` |
//! | `heart_rate_data.detailed.hrv_samples_rmssd[]` `hrv_rmssd` | `hrv_rmssd_series` `rmssd_ms` |
//! | `heart_rate_data.detailed.hrv_samples_sdnn[]` `hrv_sdnn` | `hrv_sdnn_series` `sdnn_ms` |
//! | `distance_data.detailed.step_samples[]` `steps` | `steps_series` `steps`, `duration_s` null (Terra gives no interval length) |
//! | `calories_data.calorie_samples[]` `calories` | `calories_series` `kcal`, `duration_s` null (Terra does not say whether a sample is active or total energy; carried as given) |
//! | `distance_data.detailed.distance_samples[]` `distance_meters` (cumulative) | `distance_series`: consecutive samples -> one interval (`ts` of the first, `duration_s` to the next, `m` between them); a decreasing total is refused |
//! | `oxygen_data.saturation_samples[]`, `respiration_data.oxygen_saturation_data.samples[]` `percentage` | `spo2_series` `spo2_pct` (blood only: `type` 1, muscle SmO2, skipped) |
//! | `respiration_data.breaths_data.samples[]` `breaths_per_min` | `respiration_series` `brpm` |
//! | `temperature_data.skin_temperature_samples[]` / `body_temperature_samples[]` `temperature_celsius` | `temperature_series` `temp_c`, `temperature_kind` `skin` / `body` |
//! | `glucose_data.blood_glucose_samples[]`, `detailed_blood_glucose_samples[]` `blood_glucose_mg_per_dL` | `glucose_series` `mg_dl` (one series; same timestamp: the later list wins) |
//! | `stress_data.samples[]` `level` | `stress_series` `level`, `scale_max` 100 (negative levels, the source's "no reading" markers, skipped) |
//!
//! ## Terra fields deliberately not mapped
//!
//! | Terra field | why |
//! |---|---|
//! | `activity.metadata` `city`, `state`, `country`, `timestamp_localization`; `position_data`, `polyline_map_data` | location data; no Nexus field |
//! | activity `duration_s`, `moving_duration_s` | Terra sends no elapsed or moving duration; computing `end - start` would be Nexus computing a number (null) |
//! | `active_durations_data` of an activity, `MET_data`, `TSS_data`, `strain_data`, `work_data`, `energy_data`, `lap_data`, `cheat_detection`, `data_enrichment` | no Nexus field; `data_enrichment` and strain are Terra's own computed scores |
//! | `movement_data` cadence, pace, torque, velocity and their samples; `power_data.max_watts`, `power_samples`; elevation samples and `floors_climbed_samples` | no Nexus series or field for them |
//! | `heart_rate_data.summary` `user_max_hr_bpm`, zone `start_percentage`/`end_percentage`/`name`; `resting_hr_bpm` of activities and sleeps | no Nexus field (zone bounds are % of max HR, not bpm) |
//! | hr sample `context`, `timer_duration_seconds` of every sample | no Nexus column |
//! | `device_data` `hardware_version`, `software_version`, `activation_timestamp`, `data_provided`, `other_devices`, `sensor_state`, `last_upload_date` | the registry holds name, model and id only; `other_devices` are not tied to samples |
//! | daily `scores` (activity, recovery, sleep), `stress_data` durations and averages, `body_battery_samples`, `tag_data`, `oxygen_data.vo2*`, `avg_saturation_percentage`, `heart_rate_data.summary` other than resting | no Nexus daily field (`daily_readiness` is for sleep-derived readiness with a known score kind) |
//! | sleep `readiness_data`, `respiration_data.snoring_data`, breaths min/max, `awake` interruptions, wake-up latency, `num_*` event counts, `duration_unmeasurable_sleep_seconds`, `data_enrichment` | no Nexus field |
//! | body `ketone_data`, `hydration_data`, `heart_data` ECG, AFib, RR intervals, pulse wave velocity, `ambient_temperature_samples`, glucose `gmi`, `time_in_range`, daily averages and patterns, glucose flags and trend arrows | no Nexus type or field; ambient temperature is not a body measure |
//! | body measurement `BMR`, `RMR`, `estimated_fitness_age`, `skin_fold_mm`, `insulin_*`, `urine_color`, `user_notes` | no Nexus field; a measurement with only these emits nothing |
//! | nutrition `meals[]`, `drink_samples[]`, `summary.micros`, `summary.drink_ml`, other macros (alcohol, cholesterol, saturated/trans fat, net carbs) | Nexus `nutrition` is the day's totals of the listed fields |
//! | menstruation `period_start_date`, `period_length_days`, `cycle_length_days`, `predicted_cycle_length_days`, `length_of_current_phase_days`, `days_until_next_phase` | no Nexus field; `period_day` stays null because Terra does not give it (deriving it from `period_start_date` would be computing) |
//! | athlete names, email, city, state, country, bio, gender, age, `joined_provider`, `devices` | personal data Nexus does not carry; `age` is redundant with `date_of_birth` |
//! | `user.reference_id`, `user.active`, `user.last_webhook_update`, `widget_session_id`, `version` | routing and bookkeeping, not data |
//! | `healthcheck` fields, `processing.retry_after_seconds` | acknowledged without emission |

mod normalize;
mod payload;
mod signature;
mod stamp;

use nexus_core::adapter::{SecretSpec, SignatureScheme};
use nexus_core::{
    Adapter, AdapterDescriptor, Error, EventType, InboundRequest, Ingestion, NormalizeContext,
    Normalized, Notification, NotificationAction, RawRecord, Result, Secrets,
};
use std::time::Duration;

pub use signature::{DEFAULT_TOLERANCE_S, SECRET_NAME, SIGNATURE_HEADER, TOLERANCE_NAME};

/// Provider id.
pub const PROVIDER: &str = "terra";
/// Header carrying Terra's notification id.
pub const REFERENCE_HEADER: &str = "terra-reference";

/// The Terra adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct TerraAdapter;

nexus_core::register_adapter!(TerraAdapter);

static DESCRIPTOR: AdapterDescriptor = AdapterDescriptor {
    id: PROVIDER,
    display_name: "Terra",
    event_types: &[
        EventType::Activity,
        EventType::Sleep,
        EventType::DailySummary,
        EventType::BodyMeasurement,
        EventType::BloodPressure,
        EventType::Nutrition,
        EventType::Menstruation,
        EventType::Profile,
        EventType::Connection,
        EventType::Sync,
        EventType::Deletion,
        EventType::HeartRateSeries,
        EventType::HrvRmssdSeries,
        EventType::HrvSdnnSeries,
        EventType::StepsSeries,
        EventType::CaloriesSeries,
        EventType::DistanceSeries,
        EventType::Spo2Series,
        EventType::RespirationSeries,
        EventType::TemperatureSeries,
        EventType::GlucoseSeries,
        EventType::StressSeries,
    ],
    ingestion: Ingestion::Push,
    signature: Some(SignatureScheme {
        name: "terra-signature",
        headers: &[SIGNATURE_HEADER],
        has_timestamp: true,
        default_tolerance: Some(Duration::from_secs(300)),
    }),
    secrets: &[
        SecretSpec {
            name: SECRET_NAME,
            description: "Signing secret of the Terra webhook destination (Dashboard -> \
                          Connections -> Destinations -> Webhook -> Signing secret)",
            required: true,
        },
        SecretSpec {
            name: TOLERANCE_NAME,
            description: "Accepted distance between the terra-signature timestamp and now, \
                          in seconds (default 300)",
            required: false,
        },
    ],
    api_base_url: Some("https://api.tryterra.co/v2"),
    oauth: None,
    rate_limit: None,
    ack_deadline: None,
};

/// Terra event types acknowledged without emission.
const ACK_ONLY: &[&str] = &["healthcheck", "processing"];
/// Terra event types this adapter handles.
const HANDLED: &[&str] = &[
    "auth",
    "deauth",
    "user_reauth",
    "access_revoked",
    "connection_error",
    "google_no_datasource",
    "permission_change",
    "large_request_processing",
    "large_request_sending",
    "rate_limit_hit",
    "activity",
    "athlete",
    "body",
    "daily",
    "menstruation",
    "nutrition",
    "sleep",
];

#[async_trait::async_trait]
impl Adapter for TerraAdapter {
    fn descriptor(&self) -> &AdapterDescriptor {
        &DESCRIPTOR
    }

    fn verify(&self, request: &InboundRequest, secrets: &Secrets, now_ms: i64) -> Result<()> {
        signature::verify(request, secrets, now_ms)
    }

    fn parse(&self, request: &InboundRequest) -> Result<Vec<Notification>> {
        let head: payload::Head = payload::parse(&request.body)?;
        let kind = head
            .kind
            .ok_or_else(|| Error::malformed(PROVIDER, "type", "the event type is missing"))?;
        if ACK_ONLY.contains(&kind.as_str()) {
            return Ok(Vec::new());
        }
        if !HANDLED.contains(&kind.as_str()) {
            return Err(
                Error::unsupported(PROVIDER, format!("Terra event type `{kind}`"))
                    .with_field("type"),
            );
        }
        // A re-authentication names the id it replaces: the gateway moves that connection over.
        let previous_provider_user_id = if kind == "user_reauth" {
            head.old_user
                .and_then(|u| u.user_id)
                .filter(|s| !s.trim().is_empty())
        } else {
            None
        };
        let user = if kind == "user_reauth" {
            head.new_user
        } else {
            head.user
        };
        let provider_user_id = user
            .and_then(|u| u.user_id)
            .filter(|s| !s.trim().is_empty());
        if provider_user_id.is_none() {
            let field = if kind == "user_reauth" {
                "new_user.user_id"
            } else {
                "user.user_id"
            };
            return Err(Error::malformed(
                PROVIDER,
                field,
                "the Terra user id is missing",
            ));
        }
        let reference = request
            .header(REFERENCE_HEADER)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        // Terra pushes the data: it is received when Terra sent it, the signed `t` (a runtime
        // that stamps its own receive time may overwrite this).
        let sent_at = signature::signed_at_ms(request);
        let record = RawRecord {
            kind: kind.clone(),
            body: request.body.clone(),
            provider_user_id: provider_user_id.clone(),
            provider_notification_id: reference.clone(),
            fetched_at: sent_at,
        };
        Ok(vec![Notification {
            provider_notification_id: reference,
            provider_user_id,
            previous_provider_user_id,
            kind,
            action: NotificationAction::Other,
            record_id: None,
            range: None,
            event_ts: sent_at,
            records: vec![record],
        }])
    }

    fn normalize(&self, record: &RawRecord, ctx: &NormalizeContext) -> Result<Normalized> {
        normalize::normalize(record, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use nexus_core::ErrorKind;

    fn req(body: &str, reference: Option<&str>) -> InboundRequest {
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        if let Some(r) = reference {
            headers.push(("terra-reference".to_owned(), r.to_owned()));
        }
        InboundRequest {
            method: "POST".into(),
            path: "/webhooks/terra".into(),
            query: None,
            headers,
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn healthcheck_and_processing_are_acknowledged_with_nothing() {
        let a = TerraAdapter;
        let hc = r#"{"type":"healthcheck","status":"success","creation_timestamp":"2026-07-01T10:00:00+00:00","trend_percentage":0,"sent_webhooks_last_hour":3}"#;
        assert!(a.parse(&req(hc, None)).unwrap().is_empty());
        let pr = r#"{"type":"processing","status":"success","message":"m","user":{"user_id":"u","provider":"GARMIN"},"retry_after_seconds":30}"#;
        assert!(a.parse(&req(pr, None)).unwrap().is_empty());
    }

    #[test]
    fn data_events_carry_the_body_and_the_terra_reference() {
        let body = r#"{"type":"daily","user":{"user_id":"u-1","provider":"OURA"},"data":[],"version":"2022-03-16"}"#;
        let mut r = req(body, Some("ref-9"));
        r.headers
            .push(("terra-signature".into(), "t=1782900000,v1=00".into()));
        let n = TerraAdapter.parse(&r).unwrap();
        assert_eq!(n[0].records[0].fetched_at, Some(1_782_900_000_000));
        assert_eq!(n[0].event_ts, Some(1_782_900_000_000));
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].provider_notification_id.as_deref(), Some("ref-9"));
        assert_eq!(n[0].provider_user_id.as_deref(), Some("u-1"));
        assert_eq!(n[0].records[0].kind, "daily");
        assert_eq!(&n[0].records[0].body[..], body.as_bytes());
    }

    #[test]
    fn reauth_routes_to_the_new_user() {
        let body = r#"{"type":"user_reauth","new_user":{"user_id":"new","provider":"GARMIN"},"old_user":{"user_id":"old","provider":"GARMIN"},"status":"warning","message":"m"}"#;
        let n = TerraAdapter.parse(&req(body, None)).unwrap();
        assert_eq!(n[0].provider_user_id.as_deref(), Some("new"));
        assert_eq!(n[0].previous_provider_user_id.as_deref(), Some("old"));
        let daily = r#"{"type":"daily","user":{"user_id":"u"},"data":[]}"#;
        let n = TerraAdapter.parse(&req(daily, None)).unwrap();
        assert_eq!(n[0].previous_provider_user_id, None);
    }

    #[test]
    fn bad_bodies_and_unknown_types_are_refused() {
        let a = TerraAdapter;
        let e = a.parse(&req("{not json", None)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MalformedPayload);
        let e = a
            .parse(&req(r#"{"user":{"user_id":"u"}}"#, None))
            .unwrap_err();
        assert_eq!(
            (e.kind(), e.field()),
            (ErrorKind::MalformedPayload, Some("type"))
        );
        let e = a
            .parse(&req(r#"{"type":"s3_payload","url":"x"}"#, None))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedEvent);
        let e = a
            .parse(&req(r#"{"type":"daily","data":[]}"#, None))
            .unwrap_err();
        assert_eq!(
            (e.kind(), e.field()),
            (ErrorKind::MalformedPayload, Some("user.user_id"))
        );
        let mut bytes = br#"{"type":"healthcheck","creation_timestamp":"x"}"#.to_vec();
        bytes.insert(40, 0xff);
        let mut r = req("", None);
        r.body = Bytes::from(bytes);
        let e = a.parse(&r).unwrap_err();
        assert_eq!(
            (e.kind(), e.field()),
            (ErrorKind::MalformedPayload, Some("$"))
        );
        let e = a.parse(&req(r#"{"type":7}"#, None)).unwrap_err();
        assert_eq!(
            (e.kind(), e.field()),
            (ErrorKind::MalformedPayload, Some("type"))
        );
    }

    #[test]
    fn the_adapter_is_registered() {
        assert!(nexus_core::registry::adapter("terra").is_some());
    }
}
