//! # nexus-adapter-junction
//!
//! The Nexus adapter for **Junction** (formerly Vital), provider id `junction`. Junction is an
//! aggregator: it delivers data of many sources (Oura, Fitbit, Apple HealthKit, Freestyle Libre,
//! ...) through one Svix-signed webhook endpoint. The source is never the Nexus `provider` (always
//! `junction`); it becomes a device in `devices[]` (see "Devices").
//!
//! ## Ingestion
//!
//! - **Verify** ([`signature`]): Svix — `svix-id`, `svix-timestamp`, `svix-signature`
//!   (`webhook-*` accepted as well), HMAC-SHA256 over `<id>.<timestamp>.<raw body>` with the
//!   base64 key after `whsec_`, every `v1` entry of the space-separated list tried (rotation),
//!   constant-time comparison, ±`signature_tolerance_s` (default 300 s) around `now`.
//! - **Parse**: one notification per request; `provider_notification_id` = `svix-id` (Svix's
//!   message id, the same on every retry); `provider_user_id` = top-level `user_id` (the Junction
//!   user; `client_user_id` is the tenant's own reference and is not used). The webhook body is
//!   the notification's one record (kind = the event type).
//! - **Fetch**: only `daily.data.workout_stream.created|updated`: `GET
//!   {api}/v2/timeseries/workouts/{workout_id}/stream` with the team API key (app secret
//!   `api_key`) in `x-vital-api-key`; HTTP errors map through
//!   `HttpResponse::error_for_status` (401 unauthorized, 404 not_found, 429 rate_limited, ...).
//!   The default API base is `https://api.us.junction.com`; EU teams set
//!   `https://api.eu.junction.com`.
//! - **Normalize**: pure, one file per Junction data type under `normalize/`.
//!
//! ## Mapping
//!
//! | Junction event / field | Nexus type / field |
//! |---|---|
//! | `daily.data.activity.created\|updated` | `daily_summary`, native id `$.data.id` |
//! | `calendar_date` / `time_zone` | `date` / `timezone`; `payload_ts` = local midnight of `date` in `time_zone`, else at `timezone_offset`, else UTC |
//! | `steps`, `distance` (m), `floors_climbed`, `calories_total`, `calories_active`, `heart_rate.resting_bpm` | `steps`, `distance_m`, `floors`, `calories_total_kcal`, `calories_active_kcal`, `resting_heart_rate_bpm` |
//! | `daily.data.sleep.*` | `sleep`, native id `$.data.id`, `payload_ts` = `bedtime_start` |
//! | `bedtime_start`, `bedtime_stop`, `timezone_offset` | `start_ts`, `end_ts`, `utc_offset_s` |
//! | `type` | `is_nap`: `acknowledged_nap` true, `long_sleep` false, `short_sleep`/`unknown` null |
//! | `duration`, `total`, `awake`, `light`, `deep`, `rem`, `latency` (s) | `in_bed_s`, `asleep_s`, `awake_s`, `light_s`, `deep_s`, `rem_s`, `latency_s` |
//! | `efficiency` | `efficiency_pct` (a value <= 1 is a fraction and is ×100: Junction defines a percentage but prints `0.97` in its examples) |
//! | `hr_average`, `hr_lowest`, `average_hrv` (RMSSD), `respiratory_rate`, `temperature_delta`, `score` | `avg_heart_rate_bpm`, `min_heart_rate_bpm`, `avg_hrv_rmssd_ms`, `avg_respiration_brpm`, `temp_deviation_c`, `score` |
//! | `daily.data.workouts.*` | `activity`, native id `$.data.id`, `payload_ts` = `time_start` |
//! | `time_start`, `time_end`, `timezone_offset`, `title` | `start_ts`, `end_ts`, `utc_offset_s`, `name` |
//! | `sport.slug` (else `sport.name`) | `provider_activity_type`; `activity_type` via the shared name table, else `other` |
//! | `moving_time`, `distance`, `steps`, `calories`, `average_hr`, `max_hr`, `total_elevation_gain`, `average_speed`, `max_speed`, `average_watts` | `moving_duration_s`, `distance_m`, `steps`, `calories_total_kcal`, `avg_heart_rate_bpm`, `max_heart_rate_bpm`, `elevation_gain_m`, `avg_speed_mps`, `max_speed_mps`, `avg_power_w` |
//! | `hr_zones[i]` (seconds per zone) | `heart_rate_zones[i]` = `{zone: i, min_bpm: null, max_bpm: null, duration_s}` |
//! | `daily.data.body.*` | `body_measurement`, native id `$.data.id`, `payload_ts` = `date` |
//! | `weight`, `fat`, `body_mass_index`, `water_percentage`, `lean_body_mass_kilogram` | `weight_kg`, `body_fat_pct`, `bmi`, `body_water_pct`, `lean_mass_kg` |
//! | `daily.data.profile.*` | `profile`, native id `$.data.id`, `payload_ts` = `updated_at` (else `created_at`) |
//! | top-level `user_id`, `birth_date`, `sex`, `height` (cm) | `provider_user_id`, `birth_year`, `sex`, `height_m` |
//! | `daily.data.meal.*` | `nutrition`, **one item per meal**, native id `$.data.id`, `date` = `calendar_date`, `payload_ts` = `timestamp` |
//! | `energy.value` (kcal), `macros.protein`, `.carbs`, `.fats.total`, `.fibre`, `.sugar`, `.water` (g = ml), `micros.minerals.sodium` (mg) | `calories_kcal`, `protein_g`, `carbohydrates_g`, `fat_g`, `fiber_g`, `sugar_g`, `water_ml`, `sodium_mg` |
//! | `daily.data.menstrual_cycle.*` | `menstruation`, **one item per `menstrual_flow[]` day**, native id `<$.data.id>:<date>`, `payload_ts` = UTC midnight of the day |
//! | `menstrual_flow[].flow` | `flow` (`unspecified` -> `unknown`) |
//! | `daily.data.heartrate.*` | `heart_rate_series` (`bpm`) |
//! | `daily.data.hrv.*` | `hrv_rmssd_series` (unit `rmssd`, Junction's documented unit); a sample in `sdnn` goes to `hrv_sdnn_series`; any other unit is refused |
//! | `daily.data.steps.*`, `calories_active.*`, `distance.*` | `steps_series`, `calories_series`, `distance_series`: `ts` = `start` (else `timestamp`), `duration_s` = `end - start` |
//! | `daily.data.glucose.*` | `glucose_series`, mmol/L ×18.016 -> `mg_dl` (mg/dL kept) |
//! | `daily.data.blood_oxygen.*` | `spo2_series` (`%`) |
//! | `daily.data.respiratory_rate.*` | `respiration_series` (`bpm` = breaths per minute) |
//! | `daily.data.body_temperature.*` / `body_temperature_delta.*` | `temperature_series`, `temperature_kind` `body` / `deviation` (°F converted) |
//! | `daily.data.stress_level.*` | `stress_series`, `scale_max` 100 (Junction documents 0-100) |
//! | `daily.data.blood_pressure.*` | `blood_pressure` snapshot per sample (`systolic`, `diastolic`; `pulse_bpm` null) |
//! | `daily.data.weight.*` / `fat.*` | `body_measurement` snapshot per sample (`weight_kg`, lb converted / `body_fat_pct`) |
//! | `daily.data.workout_stream.created\|updated` | fetched stream: `heartrate[]` -> `heart_rate_series`; cumulative `distance[]` -> `distance_series` intervals between consecutive `time[]` |
//! | `historical.data.<resource>.created` | `sync` `completed` (`in_progress` when an older event says `is_final: false`), `resource` = the resource's Nexus type (null if unmapped), `range_start_ts`/`range_end_ts` = `start_date`/`end_date`, `payload_ts` = `end_date` |
//! | `provider.connection.created` | `connection` `connected` |
//! | `provider.connection.error` | `connection`: `error_type` `deregistered_per_provider` -> `revoked`, `user_not_found` -> `disconnected`, `provider_credential_error`/`provider_password_expired`/`required_scopes_not_granted` -> `auth_failed`, else `degraded`; `reason` = `message` |
//!
//! Every summary's `updated_at` is its provider version: an older version arriving after a newer
//! one is dropped as stale.
//!
//! ## Composed native ids (the adapter's documented contract)
//!
//! - summaries: `$.data.id`; menstrual days: `<$.data.id>:<YYYY-MM-DD>`.
//! - timeseries chunks: `<user_id>:<source slug>:<source type>:<window_start>`, the seeds' compound
//!   key (resource type, source provider, Source Type, timestamp) mapped to (event type, provider,
//!   device, ts). The Source Type is the sample's own `type` when non-empty, else
//!   `$.data.source.type`, else `unknown`. `temperature_series` appends `:body` / `:deviation`
//!   before the window (two resources feed it).
//! - workout stream chunks: `<user_id>:<slug>:<source type>:workout:<workout_id>:<window_start>`.
//! - snapshot samples (blood pressure, weight, fat):
//!   `<user_id>:<resource>:<slug>:<source type>:<timestamp ms>`.
//! - `sync`: `<user_id>:<source slug>:<resource>`; `connection`: `<user_id>:<source slug>` (a
//!   Junction user connects several sources; each has its own state).
//!
//! ## Devices
//!
//! Every item names the source it came from: device native key `<slug>:<source type>`,
//! `device_id` = `identity::device_id("junction", key)`, `name` = `source.name` (else the slug),
//! `model` = the Source Type, `provider_device_id` = `source.device_id` when Junction attributes
//! one. The slug is read from `source.slug`, `source.provider`, `data.provider.slug` or a
//! `data.provider` string (Junction has used all four). `capture_mode`: Source Type `app` ->
//! `manual`; `unknown`/`multiple_sources` -> null; any device type -> `automatic`.
//!
//! ## Not mapped, deliberately
//!
//! - `daily.data.calories_basal.*`: `calories_series` is active energy only; basal energy has no
//!   Nexus type, and adding it to active would be wrong. Acknowledged, nothing emitted.
//! - The other Junction `daily.data` resources without a Nexus type (`vo2_max`, `water`,
//!   `caffeine`, `electrocardiogram`, `sleep_cycle`, `workout_distance`, ... the list is
//!   `event::IGNORED_RESOURCES`) and `daily.data.workout_stream.unavailable`: acknowledged, nothing
//!   emitted. Event types Junction does not document for wearables (`labtest.*`,
//!   `provider.device.*`, ...) are `unsupported_event`.
//! - activity: `low`/`medium`/`high` (minutes per intensity: Nexus does not add them into
//!   `active_minutes`), `daily_movement` (deprecated), `heart_rate.avg/min/max_bpm` (no daily field),
//!   `wheelchair_*`, `date` (deprecated); `active_minutes`, `sedentary_minutes` stay null.
//! - sleep: `hr_resting`, `skin_temperature` (absolute, no field), `hr_dip`,
//!   `recovery_readiness_score` (its kind depends on the source: Oura readiness, Whoop recovery,
//!   ... which Junction does not say), `state`, `sleep_stream`; `stages`, `timezone`,
//!   `avg_spo2_pct`, `avg_hrv_sdnn_ms` stay null.
//! - workouts: `elev_high`, `elev_low`, `device_watts`, `max_watts`, `weighted_average_watts`,
//!   `map`, `provider_id`, `calendar_date`; `duration_s` (Junction gives none; Nexus does not
//!   subtract) and `calories_active_kcal` (Junction does not split active from total) stay null.
//! - body: `muscle_mass_percentage`, `bone_mass_percentage` (percentages; Nexus does not compute
//!   kg), `visceral_fat_index`, `waist_circumference_centimeter`; `height_m` stays null.
//! - profile: `gender` (not the same question as `sex`), `wheelchair_use`; `weight_kg` null.
//! - meal: `name`, per-food `data`, `macros.alcohol`, `.cholesterol`, fat breakdown, vitamins and
//!   trace elements, `priority_id`/`source_id` ("no meaning" per Junction). A meal is one
//!   `nutrition` item; Nexus does not sum meals into a day.
//! - menstrual cycle: predicted cycles (`is_predicted: true`, a forecast), `cervical_mucus`,
//!   `intermenstrual_bleeding`, `ovulation_test`, pregnancy/progesterone tests, `sexual_activity`,
//!   `contraceptive`, `basal_body_temperature`, `detected_deviations`; `cycle_day`, `period_day`
//!   and `phase` stay null (Junction gives dates, not day numbers).
//! - timeseries: `timezone_offset` (samples are UTC instants; chunks are UTC windows), `id`
//!   (deprecated), `grouping`, `sensor_location` of temperatures.
//! - workout stream: `velocity_smooth`, `altitude`, `cadence`, `power`, `lat`/`lng`,
//!   `resistance`, `temperature` (no Nexus series type); the shallow event's `sport`,
//!   `provider_id`, `message`.
//! - connection: `resource_availability` and its scope requirements (`scopes*` stay null),
//!   `error_details`, `external_user_id`. Junction's connection events carry no time:
//!   `occurred_at` is null and `payload_ts` is 0.
//! - everywhere: `team_id`, `client_user_id`, `source.logo`, `source.app_id`,
//!   `source.workout_id`/`sport`, `created_at`.
#![deny(missing_docs)]

mod event;
mod fetch;
mod fields;
mod normalize;
pub mod signature;
mod source;

use std::time::Duration;

use nexus_core::adapter::{SecretSpec, SignatureScheme};
use nexus_core::{
    Adapter, AdapterDescriptor, EventType, FetchContext, InboundRequest, Ingestion,
    NormalizeContext, Normalized, Notification, RawRecord, Result, Secrets,
};

pub use fetch::{API_KEY, API_KEY_HEADER};

use event::{Event, classify};
use fields::object_at;
use normalize::{event_user_id, parse_json};

/// The provider id.
pub const PROVIDER: &str = "junction";

/// The Junction adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct JunctionAdapter;

static DESCRIPTOR: AdapterDescriptor = AdapterDescriptor {
    id: PROVIDER,
    display_name: "Junction",
    event_types: &[
        EventType::DailySummary,
        EventType::Sleep,
        EventType::Activity,
        EventType::BodyMeasurement,
        EventType::Profile,
        EventType::Nutrition,
        EventType::Menstruation,
        EventType::HeartRateSeries,
        EventType::HrvRmssdSeries,
        EventType::HrvSdnnSeries,
        EventType::StepsSeries,
        EventType::CaloriesSeries,
        EventType::DistanceSeries,
        EventType::GlucoseSeries,
        EventType::Spo2Series,
        EventType::RespirationSeries,
        EventType::TemperatureSeries,
        EventType::StressSeries,
        EventType::BloodPressure,
        EventType::Sync,
        EventType::Connection,
    ],
    // Webhooks carry the data, except workout streams, which are fetched.
    ingestion: Ingestion::Push,
    signature: Some(SignatureScheme {
        name: "svix",
        headers: &["svix-id", "svix-timestamp", "svix-signature"],
        has_timestamp: true,
        default_tolerance: Some(Duration::from_secs(300)),
    }),
    secrets: &[
        SecretSpec {
            name: signature::WEBHOOK_SECRET,
            description: "The endpoint's Svix signing secret (`whsec_...`): Junction dashboard, Webhooks, endpoint, Signing Secret",
            required: true,
        },
        SecretSpec {
            name: fetch::API_KEY,
            description: "Junction team API key, sent as `x-vital-api-key` to fetch workout streams",
            required: false,
        },
        SecretSpec {
            name: signature::TOLERANCE_SETTING,
            description: "Accepted clock skew of `svix-timestamp`, seconds (default 300)",
            required: false,
        },
    ],
    api_base_url: Some("https://api.us.junction.com"),
    oauth: None,
    rate_limit: None,
    ack_deadline: None,
};

#[async_trait::async_trait]
impl Adapter for JunctionAdapter {
    fn descriptor(&self) -> &AdapterDescriptor {
        &DESCRIPTOR
    }

    fn verify(&self, request: &InboundRequest, secrets: &Secrets, now_ms: i64) -> Result<()> {
        signature::verify(request, secrets, now_ms)
    }

    fn parse(&self, request: &InboundRequest) -> Result<Vec<Notification>> {
        let value = parse_json(&request.body, "$")?;
        let root = object_at(&value, "")?;
        let event_type = root.str_req("event_type")?;
        let (event, action) = classify(event_type)?;
        if event == Event::Ignored {
            return Ok(Vec::new());
        }
        let user_id = event_user_id(&root)?;
        let data = root.obj_req("data")?;
        let record_id = match &event {
            Event::WorkoutStream => {
                let id = data.str_req("workout_id")?;
                normalize::workout_stream::check_workout_id(&data.path_of("workout_id"), id)?;
                Some(id.to_owned())
            }
            Event::Summary(_) => data.str_opt("id")?.map(str::to_owned),
            _ => None,
        };
        let range = match &event {
            Event::Historical(_) => {
                match (data.time_opt("start_date")?, data.time_opt("end_date")?) {
                    (Some(a), Some(b)) => Some((a.epoch_ms, b.epoch_ms)),
                    _ => None,
                }
            }
            _ => None,
        };
        let notification_id = request
            .header("svix-id")
            .or_else(|| request.header("webhook-id"))
            .map(str::to_owned);
        let record = RawRecord {
            kind: event_type.to_owned(),
            body: request.body.clone(),
            provider_user_id: Some(user_id.to_owned()),
            provider_notification_id: notification_id.clone(),
            fetched_at: None,
        };
        Ok(vec![Notification {
            provider_notification_id: notification_id,
            provider_user_id: Some(user_id.to_owned()),
            previous_provider_user_id: None,
            kind: event_type.to_owned(),
            action,
            record_id,
            range,
            event_ts: None,
            records: vec![record],
        }])
    }

    async fn fetch(
        &self,
        notification: &Notification,
        ctx: &FetchContext,
    ) -> Result<Vec<RawRecord>> {
        match classify(&notification.kind)?.0 {
            Event::WorkoutStream => fetch::workout_stream(notification, ctx).await,
            _ => Ok(notification.records.clone()),
        }
    }

    fn normalize(&self, record: &RawRecord, ctx: &NormalizeContext) -> Result<Normalized> {
        normalize::normalize(record, ctx)
    }
}

nexus_core::register_adapter!(JunctionAdapter);

#[cfg(test)]
mod tests;
