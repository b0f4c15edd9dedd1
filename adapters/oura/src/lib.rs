//! # nexus-adapter-oura
//!
//! The Oura adapter of Nexus (`provider` = `oura`, Oura API v2). Oura is notify-then-fetch: a
//! webhook names a data type, an object id and a user; the adapter fetches the object from
//! `/v2/usercollection/<data_type>/<object_id>` with the connection's token and normalizes it.
//!
//! ## Inbound requests
//!
//! - **Handshake** ([`webhook::handshake`]): `GET ?verification_token=..&challenge=..` is answered
//!   `200 {"challenge": ".."}` when the token equals the secret `verification_token` (constant-time
//!   comparison), and refused (`invalid_signature`) otherwise.
//! - **Signature** ([`signature::verify`]): `x-oura-signature` = hex HMAC-SHA256 keyed by the app's
//!   client secret (`webhook_secret`) over the `x-oura-timestamp` value followed directly by the
//!   raw body. Hex is compared case-insensitively (Oura sends upper case). `x-oura-timestamp`
//!   (epoch seconds) must lie within `signature_tolerance_s` (default 300; Oura documents none) of
//!   now, else `stale_timestamp`. `webhook_secret_previous` is also accepted, for rotations.
//! - **Notification** ([`webhook::parse`]): `{event_type, data_type, object_id, event_time,
//!   user_id}`; `event_type` `create`/`update` is fetched, `delete` is not (the object is gone).
//!   Other event types, and data types not listed below, are `unsupported_event`. Oura sends no
//!   notification id, so `provider_notification_id` is null.
//!
//! ## Fetch ([`fetch::fetch`])
//!
//! `GET {base}/v2/usercollection/<data_type>/<object_id>` with `Authorization: Bearer <token>`;
//! `personal_info` and `heartrate` (which Oura does not notify: connect-time and backfill/poll
//! fetches) use `/v2/usercollection/personal_info` and
//! `/v2/usercollection/heartrate?start_datetime&end_datetime` (following `next_token`). 401 ->
//! `unauthorized`, 403 -> `forbidden`, 404 -> `not_found`, 429 -> `rate_limited` with
//! `Retry-After`, other failures `upstream`.
//!
//! ## Native ids
//!
//! EVENTS.md section 3: a stable provider id is the native id. Every Oura document (`sleep`,
//! `workout`, and also the daily documents `daily_activity`, `daily_readiness`) carries an `id`,
//! and Oura's `delete` notification names only that `object_id` (no day). So the document `id`
//! is the native id of `sleep`, `activity`, `daily_summary` and `daily_readiness` items - not the
//! composed `<user>:<day>` - which is what lets a delete address the item it removes.
//! Timeseries chunks use the composed `<oura user id>:-:<window_start>` (Oura names no device);
//! the profile uses `<oura user id>`.
//!
//! ## Mapping (Oura field -> Nexus type.field)
//!
//! Times: Oura writes RFC 3339 times with the user's offset; they become epoch ms and the offset
//! becomes `utc_offset_s`. Oura gives no IANA zone, so every `timezone` is null.
//!
//! | Oura | Nexus |
//! |---|---|
//! | **`sleep`** (one sleep period) | **`sleep`**, native id `id`, `payload_ts` = `start_ts` |
//! | `bedtime_start` / `bedtime_end` | `start_ts` / `end_ts`; `bedtime_start`'s offset -> `utc_offset_s` |
//! | `type`: `long_sleep` / `sleep`, `late_nap` | `is_nap` false / true (absent: null) |
//! | `type`: `deleted` (user deleted it), `rest` (user rejected a falsely detected sleep) | a `deletion` of the sleep, `deleted_at` = the record's fetch time |
//! | `time_in_bed`, `total_sleep_duration`, `awake_time` | `in_bed_s`, `asleep_s`, `awake_s` |
//! | `light_sleep_duration`, `deep_sleep_duration`, `rem_sleep_duration`, `latency` | `light_s`, `deep_s`, `rem_s`, `latency_s` |
//! | `efficiency` | `efficiency_pct` |
//! | `average_heart_rate`, `lowest_heart_rate` | `avg_heart_rate_bpm`, `min_heart_rate_bpm` |
//! | `average_hrv` (RMSSD, ms) | `avg_hrv_rmssd_ms` (`avg_hrv_sdnn_ms` stays null) |
//! | `average_breath` | `avg_respiration_brpm` |
//! | `readiness.temperature_deviation` | `temp_deviation_c` |
//! | `sleep_phase_5_min` ('1' deep, '2' light, '3' REM, '4' awake; one char per 5 min from `bedtime_start`) | `stages`: runs of one stage merged; the last ends at `bedtime_end` at the latest |
//! | `heart_rate` `{interval, items, timestamp}` | `heart_rate_series` chunks (`bpm`), item i at `timestamp + i*interval`, null items skipped, `resolution_s` = `interval` |
//! | `hrv` `{interval, items, timestamp}` (RMSSD) | `hrv_rmssd_series` chunks (`rmssd_ms`), same rule |
//! | **`daily_activity`** | **`daily_summary`**, native id `id`, `payload_ts` = local midnight of `day` at `timestamp`'s offset |
//! | `day` | `date` |
//! | `steps` | `steps` |
//! | `total_calories`, `active_calories` | `calories_total_kcal`, `calories_active_kcal` |
//! | `sedentary_time` (s) | `sedentary_minutes` (s / 60) |
//! | **`daily_readiness`** | **`daily_readiness`**, native id `id`, `score_kind` = `oura_readiness`, `payload_ts` = UTC midnight of `day` (its `timestamp` is written `T00:00:00+00:00` also for users at other offsets, so it carries no user offset) |
//! | `day`, `score`, `temperature_deviation` | `date`, `score`, `temp_deviation_c` |
//! | **`workout`** | **`activity`**, native id `id`, `payload_ts` = `start_ts` |
//! | `start_datetime` / `end_datetime` | `start_ts` / `end_ts`; `start_datetime`'s offset -> `utc_offset_s` |
//! | `activity` | `provider_activity_type` (raw) and `activity_type` (normalized by name, else `other`) |
//! | `label` | `name` |
//! | `distance` (m) | `distance_m` |
//! | `calories` ("energy burned during the workout", kcal) | `calories_total_kcal` |
//! | `source`: `manual` / `autodetected`, `confirmed`, `workout_heart_rate` | `capture_mode` `manual` / `automatic` |
//! | **`heartrate`** rows `{bpm, source, timestamp, timestamp_unix}` | **`heart_rate_series`** chunks (`bpm`); `ts` from `timestamp_unix`, else `timestamp` |
//! | **`daily_spo2`** | **`spo2_series`**: one sample per day, see below |
//! | `spo2_percentage.average` | `spo2_pct` at `ts` = UTC midnight of `day`, `resolution_s` = 86400 |
//! | **`personal_info`** | **`profile`**, native id `id`, `payload_ts` = fetch time |
//! | `id`, `biological_sex`, `height` (m), `weight` (kg) | `provider_user_id`, `sex`, `height_m`, `weight_kg` |
//! | **`delete`** notification | **`deletion`** of the deleted type's item (`sleep`, `activity`, `daily_summary`, `daily_readiness`), native id `object_id`, `deleted_at` = `event_time` |
//!
//! ### `daily_spo2` (decision)
//!
//! Nexus 1.1 has no daily SpO2 type. Oura's `daily_spo2` is the average SpO2 of the night filed
//! under `day`; dropping it would lose data consumers ask for, so it becomes a one-sample
//! `spo2_series` chunk at UTC midnight of `day` (the document has no offset) with
//! `resolution_s` = 86400, the marker that the value covers a day, not an instant. Consequence: a
//! `delete` of a `daily_spo2` cannot be mapped (the chunk is keyed by user and window, the
//! notification names only the object id) and is acknowledged without output.
//!
//! ### Provider fields deliberately not mapped
//!
//! | Oura field | why not |
//! |---|---|
//! | `sleep.day`, `workout.day` | the day Oura files the session under; the item's start/end and offset carry the local date |
//! | `daily_activity.timestamp` (beyond its offset) | the start of Oura's activity day (04:00 local); `payload_ts` follows EVENTS.md (local midnight) |
//! | `sleep.period`, `sleep.sleep_algorithm_version`, `sleep.sleep_analysis_reason`, `sleep.ring_id`, `sleep.low_battery_alert` | Oura-internal bookkeeping, no Nexus field |
//! | `sleep.movement_30_sec`, `sleep.restless_periods` | movement has no Nexus type |
//! | `sleep.sleep_phase_30_sec`, `sleep.app_sleep_phase_5_min` | `stages` is built from the documented 5-minute string only, so two documents never disagree on resolution |
//! | `sleep.readiness.score`, `.contributors`, `.temperature_trend_deviation`, `sleep.readiness_score_delta`, `sleep.sleep_score_delta` | readiness belongs to `daily_readiness`; the deltas are score bookkeeping |
//! | `sleep` score | the sleep document has none (it is in `daily_sleep`, not mapped): `score` stays null |
//! | `daily_activity.score`, `.contributors`, `.class_5_min`, `.met`, `*_met_minutes`, `average_met_minutes` | activity score and MET have no Nexus field |
//! | `daily_activity.equivalent_walking_distance` | not a distance travelled (all activity expressed as walking): `distance_m` stays null |
//! | `daily_activity.high/medium/low_activity_time` | `active_minutes` would be their sum, a derived total: left null |
//! | `daily_activity.resting_time`, `.non_wear_time`, `.inactivity_alerts`, targets (`target_calories`, `target_meters`, `meters_to_target`) | no Nexus field |
//! | `daily_readiness.contributors` (incl. `resting_heart_rate`, `hrv_balance`) | contributor scores 0-100, not bpm or ms: `resting_heart_rate_bpm`, `hrv_rmssd_ms` stay null |
//! | `daily_readiness.temperature_trend_deviation`, `.timestamp` | no Nexus field; the timestamp carries no offset |
//! | `workout.intensity` | no Nexus field |
//! | `heartrate.source` (awake, rest, sleep, session, live, workout) | the sample columns are `ts`, `bpm` only |
//! | `daily_spo2.breathing_disturbance_index` | no Nexus field |
//! | `personal_info.age` | a birth year computed from it would be a guess (off by one): `birth_year` stays null |
//! | `personal_info.email` | personal data with no Nexus field; never copied |
//! | data types `tag`, `enhanced_tag`, `session`, `daily_sleep`, `sleep_time`, `rest_mode_period`, `ring_configuration`, `daily_stress`, `daily_cardiovascular_age`, `daily_resilience`, `vo2_max`, `meal` | not in the scope: `unsupported_event` |
//!
//! Versions: Oura documents carry no modification time, so items carry no provider version and
//! an older fetch is not recognisable as stale; every fetch returns Oura's current document, which
//! the dedupe stage compares with the stored one (identical: nothing; changed: a new revision).
//!
//! Known limit: a `delete` of a sleep withdraws the `sleep` item; its heart-rate and HRV samples
//! stay in their chunks (the windows are unknown without the deleted document).
//!
//! Note: the sleep's 5-minute heart-rate samples and the `heartrate` endpoint's rows share the
//! chunk key (user, no device, window), so where both are fetched a chunk holds both, merged by
//! `ts` (equal `ts`: the later value wins). Oura gives no device id to separate them.

pub mod fetch;
mod fields;
mod normalize;
pub mod signature;
pub mod webhook;

use std::time::Duration;

use nexus_core::adapter::{
    AdapterDescriptor, Ingestion, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAuthSpec, SecretSpec,
    SignatureScheme,
};
use nexus_core::{
    Adapter, EventType, FetchContext, HandshakeResponse, InboundRequest, NormalizeContext,
    Normalized, Notification, RawRecord, Result, Secrets,
};

/// Provider id.
pub const PROVIDER: &str = "oura";

/// The Oura adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct OuraAdapter;

nexus_core::register_adapter!(OuraAdapter);

static DESCRIPTOR: AdapterDescriptor = AdapterDescriptor {
    id: PROVIDER,
    display_name: "Oura",
    event_types: &[
        EventType::Sleep,
        EventType::HeartRateSeries,
        EventType::HrvRmssdSeries,
        EventType::DailySummary,
        EventType::DailyReadiness,
        EventType::Activity,
        EventType::Spo2Series,
        EventType::Profile,
        EventType::Deletion,
    ],
    ingestion: Ingestion::NotifyThenFetch,
    signature: Some(SignatureScheme {
        name: "oura-hmac-sha256-hex",
        headers: &[signature::SIGNATURE_HEADER, signature::TIMESTAMP_HEADER],
        has_timestamp: true,
        default_tolerance: Some(Duration::from_secs(300)),
    }),
    secrets: &[
        SecretSpec {
            name: signature::SECRET,
            description: "the Oura API application's OAuth client secret: Oura signs webhooks with it",
            required: true,
        },
        SecretSpec {
            name: signature::PREVIOUS_SECRET,
            description: "the previous client secret, still accepted while a rotation is under way",
            required: false,
        },
        SecretSpec {
            name: webhook::VERIFICATION_TOKEN,
            description: "the verification_token given to Oura when creating webhook subscriptions",
            required: true,
        },
        SecretSpec {
            name: OAUTH_CLIENT_ID,
            description: "the Oura API application's client id: needed to refresh users' access tokens, which last a day",
            required: false,
        },
        SecretSpec {
            name: OAUTH_CLIENT_SECRET,
            description: "the client secret again (the same value as webhook_secret), sent when refreshing access tokens",
            required: false,
        },
        SecretSpec {
            name: signature::TOLERANCE_SETTING,
            description: "accepted distance of x-oura-timestamp from now, whole seconds (default 300)",
            required: false,
        },
    ],
    api_base_url: Some("https://api.ouraring.com"),
    oauth: Some(OAuthSpec {
        authorize_url: "https://cloud.ouraring.com/oauth/authorize",
        token_url: "https://api.ouraring.com/oauth/token",
        scopes: &["personal", "daily", "heartrate", "workout", "spo2Daily"],
    }),
    // Oura no longer publishes numbers (limits per token and per app; 429 carries Retry-After).
    rate_limit: None,
    // Oura documents no answer deadline; it retries a failed delivery for about an hour.
    ack_deadline: None,
};

#[async_trait::async_trait]
impl Adapter for OuraAdapter {
    fn descriptor(&self) -> &AdapterDescriptor {
        &DESCRIPTOR
    }

    fn verify(&self, request: &InboundRequest, secrets: &Secrets, now_ms: i64) -> Result<()> {
        signature::verify(request, secrets, now_ms)
    }

    fn handshake(
        &self,
        request: &InboundRequest,
        secrets: &Secrets,
    ) -> Option<Result<HandshakeResponse>> {
        webhook::handshake(request, secrets)
    }

    fn parse(&self, request: &InboundRequest) -> Result<Vec<Notification>> {
        webhook::parse(request)
    }

    async fn fetch(
        &self,
        notification: &Notification,
        ctx: &FetchContext,
    ) -> Result<Vec<RawRecord>> {
        fetch::fetch(notification, ctx).await
    }

    fn normalize(&self, record: &RawRecord, ctx: &NormalizeContext) -> Result<Normalized> {
        normalize::normalize(record, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_adapter_is_registered_under_its_id() {
        let a = nexus_core::registry::adapter("oura").expect("registered");
        assert_eq!(a.descriptor().display_name, "Oura");
        assert_eq!(a.descriptor().ingestion, Ingestion::NotifyThenFetch);
    }

    #[test]
    fn declared_event_types_are_unique() {
        let set: BTreeSet<_> = DESCRIPTOR.event_types.iter().collect();
        assert_eq!(set.len(), DESCRIPTOR.event_types.len());
    }

    #[test]
    fn unknown_record_kinds_are_unsupported() {
        let e = OuraAdapter
            .normalize(
                &RawRecord::new("daily_stress", "{}"),
                &NormalizeContext::default(),
            )
            .unwrap_err();
        assert_eq!(e.kind(), nexus_core::ErrorKind::UnsupportedEvent);
    }
}
