#!/usr/bin/env python3
"""Writes the Terra recorded cases (adapters/terra/cases/*.json) with real terra-signature headers.

Every body is written here, shaped after Terra's published webhook examples and data models (ids,
values and times are our own). Each body is signed with the case's fake secret exactly as Terra
does: hex(HMAC-SHA256(secret, f"{t}.{raw body}")), header `t=<unix s>,v1=<hex>`.

usage: python3 adapters/terra/cases/generate.py   (rewrites the case files next to this script)
"""
import hashlib
import hmac
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "fake-terra-signing-secret"
PATH = "/webhooks/terra"
USER_ID = "6d1c2f4e-3a58-4b2e-9f77-0c1ab2d3e4f5"
CONNECTION = {
    "tenant_id": "tenant-a",
    "user_id": "user-1",
    "external_user_ref": "ext-1",
    "connection_id": "conn-terra-1",
    "provider_user_id": USER_ID,
    "access_token": None,
}


def user(provider="GARMIN", user_id=USER_ID, active=True, scopes="ACTIVITY_EXPORT,HEALTH_EXPORT,SLEEP_EXPORT"):
    return {
        "user_id": user_id,
        "provider": provider,
        "last_webhook_update": "2026-08-14T06:02:11.402000+00:00",
        "scopes": scopes,
        "reference_id": "ext-1",
        "active": active,
    }


def sign(body, t, secret=SECRET):
    mac = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def step(body_obj, now_ms, name=None, reference=None, expect="envelopes", stale=False,
         raw_body=None, signature=None, sig_t=None):
    body = raw_body if raw_body is not None else json.dumps(body_obj, separators=(",", ":"))
    t = sig_t if sig_t is not None else now_ms // 1000 - 3
    headers = {
        "content-type": "application/json",
        "terra-signature": signature if signature is not None else sign(body, t),
    }
    if reference:
        headers["terra-reference"] = reference
    s = {}
    if name:
        s["name"] = name
    s["now_ms"] = now_ms
    s["request"] = {"method": "POST", "path": PATH, "query": None, "headers": headers, "body": body}
    s["exchanges"] = []
    s["expect"] = expect
    s["stale"] = stale
    return s


def case(name, description, steps, suites=()):
    doc = {
        "description": description,
        "suites": list(suites),
        "connection": CONNECTION,
        "secrets": {"webhook_secret": SECRET},
        "steps": steps,
    }
    with open(os.path.join(HERE, f"{name}.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def data_event(kind, records, provider="GARMIN"):
    return {"type": kind, "user": user(provider), "data": records, "version": "2022-03-16"}


NOW = 1_786_700_000_000  # 2026-08-14T09:33:20Z

# ---- activity: a run at -04:00 with every sample kind -----------------------------------------

RUN = {
    "metadata": {
        "name": "Lunch Run",
        "summary_id": "a8f3c2d1-7e6b-4a59-b0c4-2d9e8f1a3b57",
        "start_time": "2026-08-13T12:10:00.000000-04:00",
        "end_time": "2026-08-13T12:44:30.000000-04:00",
        "type": 8,
        "upload_type": 1,
        "city": "Boston",
        "country": "United States",
    },
    "device_data": {"name": "Forerunner 965", "manufacturer": "Garmin", "serial_number": "3391045527",
                    "software_version": "19.18"},
    "distance_data": {
        "summary": {"distance_meters": 6120, "steps": 5480, "elevation": {"gain_actual_meters": 42.0}},
        "detailed": {
            "distance_samples": [
                {"timestamp": "2026-08-13T12:10:00.000000-04:00", "distance_meters": 0.0, "timer_duration_seconds": 0},
                {"timestamp": "2026-08-13T12:14:00.000000-04:00", "distance_meters": 712.4, "timer_duration_seconds": 240},
                {"timestamp": "2026-08-13T12:18:00.000000-04:00", "distance_meters": 1430.9, "timer_duration_seconds": 480},
            ],
            "step_samples": [
                {"timestamp": "2026-08-13T12:14:00.000000-04:00", "steps": 640, "timer_duration_seconds": 240},
                {"timestamp": "2026-08-13T12:18:00.000000-04:00", "steps": 655, "timer_duration_seconds": 480},
            ],
        },
    },
    "calories_data": {"total_burned_calories": 468, "net_activity_calories": 402,
                      "calorie_samples": [{"timestamp": "2026-08-13T12:14:00.000000-04:00", "calories": 51.5,
                                           "timer_duration_seconds": 240}]},
    "heart_rate_data": {
        "summary": {"avg_hr_bpm": 153, "max_hr_bpm": 176, "min_hr_bpm": 98,
                    "hr_zone_data": [
                        {"zone": 1, "start_percentage": 50, "end_percentage": 60, "name": "Warm up", "duration_seconds": 240},
                        {"zone": 3, "start_percentage": 70, "end_percentage": 80, "name": "Aerobic", "duration_seconds": 1830}]},
        "detailed": {
            "hr_samples": [
                {"timestamp": "2026-08-13T12:10:00.000000-04:00", "bpm": 98, "timer_duration_seconds": 0},
                {"timestamp": "2026-08-13T12:12:00.000000-04:00", "bpm": 141, "timer_duration_seconds": 120},
                {"timestamp": "2026-08-13T12:16:00.000000-04:00", "bpm": 158, "timer_duration_seconds": 360},
            ],
            "hrv_samples_rmssd": [{"timestamp": "2026-08-13T12:11:00.000000-04:00", "hrv_rmssd": 22.4}],
            "hrv_samples_sdnn": [{"timestamp": "2026-08-13T12:11:00.000000-04:00", "hrv_sdnn": 31.0}],
        },
    },
    "movement_data": {"avg_speed_meters_per_second": 2.96, "max_speed_meters_per_second": 4.4},
    "power_data": {"avg_watts": 251, "max_watts": 402},
}

case("activity_run_negative_offset",
     "Terra activity (Garmin run at UTC-4): session with summary fields, device from user.provider and "
     "device_data, HR / HRV RMSSD / HRV SDNN / steps / calories / cumulative-distance samples as chunks",
     [step(data_event("activity", [RUN]), NOW, reference="3b0c7e52-91f4-4d1a-8c3e-5a7b9d0e1f23")])

# ---- sleep at +05:30 with hypnogram ------------------------------------------------------------

SLEEP = {
    "metadata": {"summary_id": "slp-20260813-4471", "is_nap": False, "upload_type": 2,
                 "start_time": "2026-08-13T23:05:00.000000+05:30", "end_time": "2026-08-14T06:35:00.000000+05:30"},
    "device_data": {"name": "Oura Ring Gen3"},
    "sleep_durations_data": {
        "asleep": {"duration_asleep_state_seconds": 24300, "duration_light_sleep_state_seconds": 12600,
                   "duration_deep_sleep_state_seconds": 5700, "duration_REM_sleep_state_seconds": 6000,
                   "num_REM_events": 4},
        "awake": {"duration_awake_state_seconds": 2700, "sleep_latency_seconds": 540, "num_wakeup_events": 3},
        "other": {"duration_in_bed_seconds": 27000},
        "sleep_efficiency": 90.0,
        "hypnogram_samples": [
            {"timestamp": "2026-08-13T23:05:00.000000+05:30", "level": 1},
            {"timestamp": "2026-08-13T23:14:00.000000+05:30", "level": 4},
            {"timestamp": "2026-08-14T00:20:00.000000+05:30", "level": 5},
            {"timestamp": "2026-08-14T01:35:00.000000+05:30", "level": 6},
            {"timestamp": "2026-08-14T06:20:00.000000+05:30", "level": 1},
        ],
    },
    "heart_rate_data": {
        "summary": {"avg_hr_bpm": 56, "min_hr_bpm": 48, "avg_hrv_rmssd": 51, "avg_hrv_sdnn": 63},
        "detailed": {
            "hr_samples": [{"timestamp": "2026-08-14T01:00:00.000000+05:30", "bpm": 52},
                           {"timestamp": "2026-08-14T01:05:00.000000+05:30", "bpm": 50}],
            "hrv_samples_rmssd": [{"timestamp": "2026-08-14T01:00:00.000000+05:30", "hrv_rmssd": 54}],
        },
    },
    "respiration_data": {
        "breaths_data": {"avg_breaths_per_min": 14.6, "samples": [
            {"timestamp": "2026-08-14T01:00:00.000000+05:30", "breaths_per_min": 14.5}]},
        "oxygen_saturation_data": {"avg_saturation_percentage": 96.5, "samples": [
            {"timestamp": "2026-08-14T01:00:00.000000+05:30", "percentage": 97, "type": 0}]},
    },
    "temperature_data": {"delta": 0.21},
    "scores": {"sleep_score": 84},
}

case("sleep_half_hour_offset",
     "Terra sleep (Oura at UTC+5:30): durations, averages, score, hypnogram as stages, HR / RMSSD / "
     "respiration / SpO2 samples as chunks",
     [step(data_event("sleep", [SLEEP], provider="OURA"), NOW, reference="c1d2e3f4-0a1b-4c5d-8e9f-102132435465")])

# ---- daily at -03:30 ---------------------------------------------------------------------------


def daily(steps, hr_samples, upload_type=1):
    return {
        "metadata": {"start_time": "2026-08-13T00:00:00.000000-03:30", "end_time": "2026-08-14T00:00:00.000000-03:30",
                     "upload_type": upload_type},
        "distance_data": {"steps": steps, "distance_meters": steps * 78 // 100, "floors_climbed": 9,
                          "detailed": {"step_samples": [
                              {"timestamp": "2026-08-13T09:00:00.000000-03:30", "steps": 412, "timer_duration_seconds": 0}]}},
        "calories_data": {"total_burned_calories": 2391, "net_activity_calories": 588, "BMR_calories": 1803},
        "active_durations_data": {"activity_seconds": 4620, "inactivity_seconds": 40200},
        "heart_rate_data": {"summary": {"resting_hr_bpm": 54, "avg_hr_bpm": 71},
                            "detailed": {"hr_samples": hr_samples}},
        "oxygen_data": {"saturation_samples": [{"timestamp": "2026-08-13T04:00:00.000000-03:30", "percentage": 95}]},
        "stress_data": {"avg_stress_level": 31, "samples": [
            {"timestamp": "2026-08-13T09:00:00.000000-03:30", "level": 28},
            {"timestamp": "2026-08-13T09:03:00.000000-03:30", "level": -1},
            {"timestamp": "2026-08-13T09:06:00.000000-03:30", "level": 44}]},
    }


HR_A = [{"timestamp": "2026-08-13T09:00:00.000000-03:30", "bpm": 68},
        {"timestamp": "2026-08-13T09:05:00.000000-03:30", "bpm": 72}]
HR_B = [{"timestamp": "2026-08-13T09:05:00.000000-03:30", "bpm": 75},
        {"timestamp": "2026-08-13T09:10:00.000000-03:30", "bpm": 80}]

case("daily_negative_half_hour_offset",
     "Terra daily (Garmin at UTC-3:30): daily_summary for the local date with payload_ts at local "
     "midnight, steps / HR / SpO2 / stress samples as chunks (stress -1 marker skipped)",
     [step(data_event("daily", [daily(11204, HR_A)]), NOW, reference="5e6f7081-92a3-4b4c-9d5e-6f708192a3b4")])

case("daily_revision",
     "Terra daily re-sent through the day: identical re-delivery emits nothing, an updated step "
     "count is revision 2 of the same date",
     [step(data_event("daily", [daily(8020, HR_A)]), NOW, name="first delivery", reference="r-daily-1"),
      step(data_event("daily", [daily(8020, HR_A)]), NOW + 60_000, name="identical re-delivery", reference="r-daily-1"),
      step(data_event("daily", [daily(11204, HR_A)]), NOW + 3_600_000, name="steps updated", reference="r-daily-2")],
     suites=["revision"])

case("daily_heart_rate_overlap",
     "Two Terra daily deliveries whose heart-rate samples overlap in one 15-minute window: the chunk "
     "is re-emitted whole with the later value for the shared timestamp",
     [step(data_event("daily", [daily(8020, HR_A)]), NOW, name="first batch", reference="r-hr-1"),
      step(data_event("daily", [daily(8020, HR_B)]), NOW + 900_000, name="overlapping batch", reference="r-hr-2")],
     suites=["timeseries_merge", "revision"])

# ---- body at +01:00 ----------------------------------------------------------------------------

BODY = {
    "metadata": {"start_time": "2026-08-13T00:00:00.000000+01:00", "end_time": "2026-08-14T00:00:00.000000+01:00"},
    "device_data": {"name": "Index S2", "manufacturer": "Garmin"},
    "measurements_data": {"measurements": [
        {"measurement_time": "2026-08-13T07:41:09.000000+01:00", "weight_kg": 71.8, "height_cm": 176.5, "BMI": 23.0,
         "bodyfat_percentage": 18.4, "muscle_mass_g": 32900, "bone_mass_g": 3050, "water_percentage": 57.6},
    ]},
    "blood_pressure_data": {"blood_pressure_samples": [
        {"timestamp": "2026-08-13T07:45:00.000000+01:00", "systolic_bp": 118, "diastolic_bp": 77}]},
    "temperature_data": {
        "skin_temperature_samples": [{"timestamp": "2026-08-13T07:45:00.000000+01:00", "temperature_celsius": 33.4}],
        "body_temperature_samples": [{"timestamp": "2026-08-13T07:45:00.000000+01:00", "temperature_celsius": 36.7}]},
    "glucose_data": {"blood_glucose_samples": [
        {"timestamp": "2026-08-13T07:50:00.000000+01:00", "blood_glucose_mg_per_dL": 94, "glucose_level_flag": 0,
         "trend_arrow": 3}]},
}

case("body_measurements_and_blood_pressure",
     "Terra body (UTC+1): body_measurement with unit conversions (cm, g), blood_pressure reading, "
     "skin and body temperature series kept apart, glucose series",
     [step(data_event("body", [BODY]), NOW, reference="9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")])

# ---- nutrition at -07:00 -----------------------------------------------------------------------

NUTRITION = {
    "metadata": {"start_time": "2026-08-13T00:00:00.000000-07:00", "end_time": "2026-08-14T00:00:00.000000-07:00"},
    "summary": {"macros": {"calories": 2240, "protein_g": 131.5, "carbohydrates_g": 244, "fat_g": 78.2,
                           "fiber_g": 31, "sugar_g": 62.5, "sodium_mg": 2310, "alcohol_g": 0},
                "water_ml": 2100},
    "meals": [{"name": "Oatmeal", "id": "meal-1", "timestamp": "2026-08-13T07:30:00.000000-07:00", "type": 1,
               "quantity": {"unit": 1, "amount": 250}, "macros": {"calories": 380}, "micros": {}}],
}

case("nutrition_day",
     "Terra nutrition (Cronometer at UTC-7): the day's totals per local date; the logging app is the registry entry",
     [step(data_event("nutrition", [NUTRITION], provider="CRONOMETER"), NOW, reference="n-1")])

# ---- menstruation at +09:30, and an out-of-order older version -----------------------------------


def menstruation(flow, updated):
    return {
        "metadata": {"start_time": "2026-08-13T00:00:00.000000+09:30", "end_time": "2026-08-14T00:00:00.000000+09:30"},
        "menstruation_data": {"period_start_date": "2026-08-11", "day_in_cycle": 3, "period_length_days": 5,
                              "current_phase": "menstrual", "last_updated_time": updated,
                              "menstruation_flow": [{"timestamp": "2026-08-13T08:00:00.000000+09:30", "flow": flow}]},
    }


case("menstruation_day",
     "Terra menstruation (UTC+9:30): cycle day, flow and phase for the local date",
     [step(data_event("menstruation", [menstruation(3, "2026-08-13T21:10:00.000000+09:30")], provider="CLUE"), NOW,
           reference="m-1")])

case("menstruation_out_of_order",
     "Terra menstruation: the corrected day (updated 21:10) arrives before an older version (updated "
     "08:05); the older one is dropped as stale by last_updated_time",
     [step(data_event("menstruation", [menstruation(3, "2026-08-13T21:10:00.000000+09:30")], provider="CLUE"), NOW,
           name="newer version", reference="m-2"),
      step(data_event("menstruation", [menstruation(2, "2026-08-13T08:05:00.000000+09:30")], provider="CLUE"),
           NOW + 120_000, name="older version delivered late", reference="m-1", stale=True)],
     suites=["out_of_order"])

# ---- activity deletion ---------------------------------------------------------------------------

WALK = {
    "metadata": {"name": "Walk", "summary_id": "f0e1d2c3-b4a5-4697-8877-665544332211",
                 "start_time": "2026-08-13T18:00:00.000000+02:00", "end_time": "2026-08-13T18:40:00.000000+02:00",
                 "type": 7, "upload_type": 2},
    "distance_data": {"summary": {"distance_meters": 3100, "steps": 4020}},
    "calories_data": {"total_burned_calories": 160},
}
WALK_DELETED = json.loads(json.dumps(WALK))
WALK_DELETED["metadata"]["upload_type"] = 4

case("activity_deletion",
     "A manually entered Terra activity, then the same summary_id with upload_type 4 (Delete): a "
     "deletion of the activity's source_id",
     [step(data_event("activity", [WALK], provider="FITBIT"), NOW, name="manual workout", reference="d-1"),
      step(data_event("activity", [WALK_DELETED], provider="FITBIT"), NOW + 600_000, name="deleted", reference="d-2")],
     suites=["deletion"])

# ---- athlete -----------------------------------------------------------------------------------

case("athlete_profile",
     "Terra athlete: profile with birth year and sex; names, email and city are not carried",
     [step({"type": "athlete", "version": "2022-03-16", "user": user(),
            "athlete": {"first_name": "Ada", "last_name": "Example", "sex": "female", "date_of_birth": "1988-05-17",
                        "email": "ada@example.com", "city": "Leeds", "country": "United Kingdom", "age": 38}},
           NOW, reference="ath-1")])

# ---- connection events ---------------------------------------------------------------------------

case("auth_success",
     "Terra auth success: connection connected with the granted scopes",
     [step({"type": "auth", "status": "success", "message": "User has successfully authenticated",
            "user": user(), "reference_id": "ext-1", "widget_session_id": "0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f",
            "version": "2022-03-16"}, NOW)])

case("auth_error",
     "Terra auth error: connection auth_failed with Terra's reason",
     [step({"type": "auth", "status": "error", "message": "User failed to authenticate and has been deleted",
            "reason": "consent_denied", "provider": "POLAR", "user": user("POLAR", active=False),
            "reference_id": "ext-1", "widget_session_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}, NOW)])

case("deauth",
     "Terra deauth: connection disconnected",
     [step({"type": "deauth", "status": "success", "message": "User has deauthenticated",
            "user": user(active=False)}, NOW)])

case("user_reauth",
     "Terra user_reauth: connection reconnected under the new user id, the old id kept as previous",
     [step({"type": "user_reauth", "status": "warning", "message": "User has reauthenticated and old ID has been deleted",
            "version": "2022-03-16", "new_user": user(),
            "old_user": user(user_id="0b9a8c7d-6e5f-4d3c-9b2a-1f0e9d8c7b6a", active=False)}, NOW)])

case("access_revoked",
     "Terra access_revoked: connection revoked",
     [step({"type": "access_revoked", "status": "warning", "message": "User revoked access",
            "user": user(active=False)}, NOW)])

case("connection_error",
     "Terra connection_error: connection degraded with Terra's message",
     [step({"type": "connection_error", "status": "warning",
            "message": "User connection degraded: provider returned 401 for the stored token",
            "user": user()}, NOW)])

case("google_no_datasource",
     "Terra google_no_datasource: connection no_data_source",
     [step({"type": "google_no_datasource", "status": "warning",
            "message": "User has no data sources linked to their Google Fit account",
            "user": user("GOOGLE", scopes="fitness.activity.read,fitness.body.read")}, NOW)])

case("permission_change",
     "Terra permission_change: connection permissions_changed with added and removed scopes",
     [step({"type": "permission_change", "status": "warning", "message": "User permissions have been modified",
            "version": "2022-03-16", "scopes_added": "fitness.blood_glucose.read",
            "scopes_removed": "fitness.oxygen_saturation.read,fitness.body_temperature.read",
            "user": user("GOOGLE", scopes="fitness.activity.read,fitness.blood_glucose.read")}, NOW)])

# ---- sync events ---------------------------------------------------------------------------------

REF = "7c6b5a49-3827-4615-a0f9-e8d7c6b5a493"
case("large_request_processing",
     "Terra large_request_processing: sync started with the request reference",
     [step({"type": "large_request_processing", "status": "processing", "message": "Large request is processing",
            "user": user(), "reference": REF}, NOW, reference=REF)])

case("large_request_sending",
     "Terra large_request_sending: sync in_progress with expected_payloads",
     [step({"type": "large_request_sending", "message": "Large request is being sent", "expected_payloads": 14,
            "user": user(), "reference": REF}, NOW, reference=REF)])

case("rate_limit_hit",
     "Terra rate_limit_hit: sync rate_limited with the requested range and the retry time; the "
     "terra-reference header is the reference",
     [step({"type": "rate_limit_hit", "message": "Rate limit reached whilst processing async query", "user": user(),
            "start_date": "2026-05-01T00:00:00.000000-05:00", "end_date": "2026-08-01T00:00:00.000000-05:00",
            "retrying_at": "2026-08-14T10:15:00.000000+00:00"}, NOW, reference=REF)])

# ---- acknowledged without emission ---------------------------------------------------------------

case("healthcheck",
     "Terra healthcheck: verified and acknowledged, nothing emitted",
     [step({"type": "healthcheck", "creation_timestamp": "2026-08-14T09:33:00.000000+00:00",
            "trend_percentage": 0, "sent_webhooks_last_hour": 42}, NOW)])

case("processing",
     "Terra processing: acknowledged, nothing emitted (the data follows in later events)",
     [step({"type": "processing", "status": "success", "message": "Request is processing, try again later",
            "user": user(), "retry_after_seconds": 60}, NOW, reference=REF)])

# ---- bad requests --------------------------------------------------------------------------------

DEAUTH = {"type": "deauth", "status": "success", "message": "User has deauthenticated", "user": user(active=False)}
raw = json.dumps(DEAUTH, separators=(",", ":"))
t = NOW // 1000 - 3
good = sign(raw, t)
tampered = raw.replace('"active":false', '"active":true')
case("bad_tampered_signature",
     "A body changed after signing: invalid_signature",
     [step(None, NOW, raw_body=tampered, signature=good, expect={"error": "invalid_signature"})])

old_t = NOW // 1000 - 301
case("bad_stale_timestamp",
     "A correctly signed body whose terra-signature timestamp is 301 s old (tolerance 300 s): stale_timestamp",
     [step(None, NOW, raw_body=raw, signature=sign(raw, old_t), expect={"error": "stale_timestamp"})])

case("bad_malformed_body",
     "A signed body that is not JSON (truncated): malformed_payload",
     [step(None, NOW, raw_body='{"type":"daily","user":{"user_id":"' + USER_ID + '","provider":"GARMIN"},"data":[{"metad',
           expect={"error": "malformed_payload"})])

NO_OFFSET = json.loads(json.dumps(daily(5000, HR_A)))
NO_OFFSET["metadata"]["start_time"] = "2026-08-13T00:00:00.000000"
case("bad_time_without_offset",
     "A daily whose metadata.start_time has no UTC offset: refused as malformed_payload rather than guessed",
     [step(data_event("daily", [NO_OFFSET]), NOW, expect={"error": "malformed_payload"})])

case("bad_unsupported_event",
     "A Terra s3_payload event (a link to an oversized payload), which this adapter does not handle: "
     "unsupported_event",
     [step({"type": "s3_payload", "status": "success",
            "url": "https://example.invalid/terra-payloads/6d1c2f4e/daily.json", "expires_in": 300}, NOW,
           expect={"error": "unsupported_event"})])

print("cases written to", HERE)
