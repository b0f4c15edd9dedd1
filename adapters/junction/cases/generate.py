#!/usr/bin/env python3
"""Writes the Junction recorded cases (adapters/junction/cases/*.json) with real Svix signatures.

usage: python3 adapters/junction/cases/generate.py   (standard library only)

Every body is written by this project, shaped after Junction's documented events and the
junction-api-sdk models; ids, values and times are invented. Every secret is fake. Signatures are
computed independently of the Rust code: HMAC-SHA256 over "<svix-id>.<svix-timestamp>.<body>" with
the base64-decoded key after "whsec_", base64, "v1," prefix (Svix / Standard Webhooks).
"""
import base64
import hashlib
import hmac
import json
import os
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "whsec_" + base64.b64encode(b"fake-junction-signing-secret-01").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"fake-junction-rotated-secret-02").decode()
API_KEY = "fake-junction-api-key"
USER = "5a0c9d1e-7b2f-4c3a-9e8d-1f2a3b4c5d6e"
TEAM = "0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b"
CLIENT_USER = "fake-client-user-42"

NOW = int(datetime(2026, 11, 20, 9, 0, 0, tzinfo=timezone.utc).timestamp())  # seconds


def sign(secret, msg_id, ts, body):
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body.encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def event(event_type, data):
    return {"event_type": event_type, "user_id": USER, "client_user_id": CLIENT_USER,
            "team_id": TEAM, "data": data}


def step(name, body, msg_id, at_s, *, ts_s=None, expect="envelopes", stale=False, exchanges=None,
         signature=None, extra_sigs=()):
    """A delivery at `at_s` (server clock); Svix signed it at `ts_s` (default 2 s earlier)."""
    raw = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    ts = str(ts_s if ts_s is not None else at_s - 2)
    sig = signature or sign(SECRET, msg_id, ts, raw)
    sig = " ".join([*extra_sigs, sig])
    s = {
        "name": name,
        "now_ms": at_s * 1000,
        "request": {
            "method": "POST",
            "path": "/webhooks/junction",
            "query": None,
            "headers": {"content-type": "application/json", "svix-id": msg_id,
                        "svix-timestamp": ts, "svix-signature": sig},
            "body": raw,
        },
        "expect": expect,
        "stale": stale,
    }
    if exchanges:
        s["exchanges"] = exchanges
    return s


CASES = {}


def case(name, description, steps, suites=()):
    CASES[name] = {
        "description": description,
        "suites": list(suites),
        "connection": {"tenant_id": "tenant-a", "user_id": "user-1", "external_user_ref": CLIENT_USER,
                       "connection_id": "conn-junction-1", "provider_user_id": USER, "access_token": None},
        "secrets": {"webhook_secret": SECRET, "api_key": API_KEY},
        "steps": steps,
    }


def src(provider, type_, device_id=None, app_id=None):
    return {"provider": provider, "type": type_, "app_id": app_id, "device_id": device_id}


OURA = src("oura", "ring")
T = NOW - 40 * 3600  # a while before "now"

# ---------------------------------------------------------------- summaries
def activity(steps, cal_active, updated):
    return event("daily.data.activity.updated" if updated != "2026-11-19T06:10:02+00:00" else "daily.data.activity.created", {
        "id": "b7e2c1d0-4f3a-4a9b-8c7d-6e5f4a3b2c1d", "user_id": USER,
        "date": "2026-11-18T00:00:00+00:00", "calendar_date": "2026-11-18",
        "calories_total": 2231.5, "calories_active": cal_active, "steps": steps,
        "daily_movement": 6900.0, "distance": 6120.4, "low": 95.0, "medium": 38.0, "high": 12.0,
        "source": OURA, "floors_climbed": 6, "time_zone": "America/New_York", "timezone_offset": -18000,
        "heart_rate": {"avg_bpm": 71.0, "min_bpm": 49.0, "max_bpm": 142.0, "resting_bpm": 54.0},
        "created_at": "2026-11-19T06:10:02+00:00", "updated_at": updated})

case("activity_revisions",
     "Daily activity (America/New_York, UTC-5): created, re-delivered by Svix (same svix-id), "
     "corrected via .updated (revision 2), then an older intermediate version arrives late (stale).",
     [step("created", activity(8412, 412.0, "2026-11-19T06:10:02+00:00"), "msg_2Jx0A1activity01", NOW - 600),
      step("svix retry of the same message", activity(8412, 412.0, "2026-11-19T06:10:02+00:00"), "msg_2Jx0A1activity01", NOW - 300),
      step("corrected via updated", activity(9105, 455.0, "2026-11-19T18:40:00+00:00"), "msg_2Jx0A1activity02", NOW - 200),
      step("older version delivered late", activity(8800, 430.0, "2026-11-19T12:00:00+00:00"), "msg_2Jx0A1activity03", NOW - 100, stale=True)],
     suites=["revision", "out_of_order"])


def sleep(event_type, deep, light, updated, state):
    return event(event_type, {
        "id": "0f4e3d2c-1b0a-4998-8776-5a4b3c2d1e0f", "user_id": USER,
        "date": "2026-11-18T00:00:00+00:00", "calendar_date": "2026-11-18",
        "bedtime_start": "2026-11-17T23:20:00+05:30", "bedtime_stop": "2026-11-18T06:50:00+05:30",
        "type": "long_sleep", "timezone_offset": 19800, "duration": 27000, "total": 24300,
        "awake": 2700, "light": light, "rem": 5400, "deep": deep, "score": 84,
        "hr_lowest": 47, "hr_average": 56, "hr_resting": 49, "efficiency": 0.9, "latency": 540,
        "temperature_delta": -0.18, "skin_temperature": 33.9, "state": state,
        "average_hrv": 63.5, "respiratory_rate": 14.2, "source": OURA,
        "created_at": "2026-11-18T01:35:00+00:00", "updated_at": updated})

case("sleep_revision",
     "Sleep at a half-hour offset (+05:30, timezone_offset 19800), tentative then corrected via "
     ".updated (confirmed, stages moved): revision 2.",
     [step("created", sleep("daily.data.sleep.created", 6300, 12600, "2026-11-18T01:35:00+00:00", "tentative"), "msg_2Jx0A1sleep0001", NOW - 500),
      step("corrected", sleep("daily.data.sleep.updated", 6900, 12000, "2026-11-18T04:10:00+00:00", "confirmed"), "msg_2Jx0A1sleep0002", NOW - 100)],
     suites=["revision"])

case("workouts_created",
     "A run recorded by a Garmin watch in Newfoundland (-03:30, a negative half-hour offset), "
     "with heart-rate zones.",
     [step("created", event("daily.data.workouts.created", {
         "id": "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f", "user_id": USER, "title": "Morning Run",
         "timezone_offset": -12600, "average_hr": 152, "max_hr": 178, "distance": 7420.0,
         "calendar_date": "2026-11-18", "time_start": "2026-11-18T07:05:00-03:30",
         "time_end": "2026-11-18T07:52:30-03:30", "calories": 512.0,
         "sport": {"id": 1, "name": "Running", "slug": "running"},
         "hr_zones": [30, 240, 600, 1500, 420, 60], "moving_time": 2790,
         "total_elevation_gain": 48.2, "elev_high": 61.0, "elev_low": 12.8, "average_speed": 2.66,
         "max_speed": 4.1, "average_watts": 265.0, "device_watts": None, "max_watts": 410.0,
         "weighted_average_watts": 270.0, "steps": 7010, "provider_id": "fake-garmin-activity-9001",
         "source": src("garmin", "watch", device_id="fake-garmin-device-1"),
         "created_at": "2026-11-18T11:30:00+00:00", "updated_at": "2026-11-18T11:30:00+00:00"}),
         "msg_2Jx0A1workout01", NOW - 60)])

case("body_created",
     "A Withings scale body summary: weight, fat, water, BMI, lean mass; muscle and bone mass "
     "come only as percentages and stay null.",
     [step("created", event("daily.data.body.created", {
         "id": "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6", "user_id": USER,
         "date": "2026-11-18T00:00:00+00:00", "calendar_date": "2026-11-18", "weight": 71.4,
         "fat": 18.9, "water_percentage": 56.1, "muscle_mass_percentage": 42.3,
         "visceral_fat_index": 5.0, "bone_mass_percentage": 4.1, "body_mass_index": 22.8,
         "lean_body_mass_kilogram": 57.9, "source": src("withings", "scale"),
         "created_at": "2026-11-18T07:02:00+00:00", "updated_at": "2026-11-18T07:02:00+00:00"}),
         "msg_2Jx0A1body00001", NOW - 60)])

case("profile_created",
     "A Fitbit profile: height in cm, birth date, sex.",
     [step("created", event("daily.data.profile.created", {
         "id": "e5f6a7b8-c9d0-4e1f-9a2b-3c4d5e6f7a8b", "user_id": USER, "height": 176,
         "birth_date": "1988-04-02", "gender": "male", "sex": "male", "source": src("fitbit", "unknown"),
         "created_at": "2026-11-10T10:00:00+00:00", "updated_at": "2026-11-18T10:00:00+00:00"}),
         "msg_2Jx0A1profile01", NOW - 60)])

case("meal_created",
     "A meal logged in MyFitnessPal (source type app -> capture_mode manual): energy, macros, sodium.",
     [step("created", event("daily.data.meal.created", {
         "id": "f7a8b9c0-d1e2-4f3a-8b4c-5d6e7f8a9b0c", "user_id": USER, "priority_id": 3,
         "source_id": 17, "provider_id": "f7a8b9c0-d1e2-4f3a-8b4c-5d6e7f8a9b0c",
         "timestamp": "2026-11-18T12:45:00-05:00", "calendar_date": "2026-11-18", "name": "Lunch",
         "energy": {"unit": "kcal", "value": 684.0},
         "macros": {"carbs": 71.5, "protein": 38.0, "fats": {"total": 24.5, "saturated": 7.1},
                    "alcohol": 0.0, "water": 310.0, "fibre": 9.2, "sugar": 11.8, "cholesterol": 0.09},
         "micros": {"minerals": {"sodium": 920.0, "potassium": 780.0}},
         "source": src("my_fitness_pal", "app"),
         "created_at": "2026-11-18T17:50:00+00:00", "updated_at": "2026-11-18T17:50:00+00:00"}),
         "msg_2Jx0A1meal00001", NOW - 60)])

case("menstrual_cycle_created",
     "A menstrual cycle from Apple HealthKit: one menstruation item per recorded flow day.",
     [step("created", event("daily.data.menstrual_cycle.created", {
         "id": "a9b8c7d6-e5f4-4a3b-9c2d-1e0f9a8b7c6d", "period_start": "2026-11-09",
         "period_end": "2026-11-13", "cycle_end": None, "is_predicted": False,
         "menstrual_flow": [{"date": "2026-11-09", "flow": "medium"}, {"date": "2026-11-10", "flow": "heavy"},
                            {"date": "2026-11-12", "flow": "light"}, {"date": "2026-11-13", "flow": "unspecified"}],
         "cervical_mucus": [], "intermenstrual_bleeding": [], "contraceptive": [],
         "detected_deviations": [], "ovulation_test": [], "home_pregnancy_test": [],
         "home_progesterone_test": [], "sexual_activity": [], "basal_body_temperature": [],
         "source_provider": "apple_health_kit", "source_type": "app",
         "source_app_id": "com.apple.Health", "source_device_id": None,
         "created_at": "2026-11-13T20:00:00+00:00", "updated_at": "2026-11-13T20:00:00+00:00",
         "user_id": USER, "source": src("apple_health_kit", "app", app_id="com.apple.Health")}),
         "msg_2Jx0A1cycle0001", NOW - 60)])

# ---------------------------------------------------------------- timeseries
def ts(event_type, source, samples):
    return event(event_type, {"source": source, "data": samples})


def point(t, value, unit, offset=-18000, type_=None, **extra):
    return {"id": None, "timezone_offset": offset, "type": type_, "unit": unit,
            "timestamp": t, "value": value, **extra}


def interval(start, end, value, unit, offset=-18000, type_=None):
    return {"id": None, "timezone_offset": offset, "type": type_, "unit": unit,
            "timestamp": start, "start": start, "end": end, "value": value}


HR1 = [point("2026-11-18T14:00:00+00:00", 68, "bpm"), point("2026-11-18T14:05:00+00:00", 71, "bpm"),
       point("2026-11-18T14:10:00+00:00", 74, "bpm")]
HR2 = [point("2026-11-18T14:10:00+00:00", 76, "bpm"), point("2026-11-18T14:15:00+00:00", 79, "bpm"),
       point("2026-11-18T14:20:00+00:00", 77, "bpm")]
case("heartrate_overlapping_batches",
     "Two overlapping heart-rate batches from an Oura ring: the second repeats 14:10 with a new "
     "value, so the 14:00 chunk re-emits merged (revision 2) and 14:15 is new; then the second "
     "batch is re-delivered and nothing is emitted.",
     [step("first batch", ts("daily.data.heartrate.created", OURA, HR1), "msg_2Jx0A1hr000001", NOW - 900),
      step("overlapping batch", ts("daily.data.heartrate.updated", OURA, HR2), "msg_2Jx0A1hr000002", NOW - 600),
      step("re-delivery", ts("daily.data.heartrate.updated", OURA, HR2), "msg_2Jx0A1hr000002", NOW - 300)],
     suites=["timeseries_merge", "revision"])

WATCH = src("apple_health_kit", "watch")
case("steps_bucket_update",
     "Apple HealthKit hourly step buckets (Junction's reason for the latest-value-wins rule): the "
     "12:00 bucket is sent again with a higher count and replaces the earlier value.",
     [step("buckets", ts("daily.data.steps.created", WATCH, [
         interval("2026-11-18T11:00:00+00:00", "2026-11-18T12:00:00+00:00", 812, "count", 3600),
         interval("2026-11-18T12:00:00+00:00", "2026-11-18T13:00:00+00:00", 240, "count", 3600)]),
         "msg_2Jx0A1steps0001", NOW - 600),
      step("bucket updated", ts("daily.data.steps.updated", WATCH, [
         interval("2026-11-18T12:00:00+00:00", "2026-11-18T13:00:00+00:00", 1311, "count", 3600)]),
         "msg_2Jx0A1steps0002", NOW - 300)],
     suites=["timeseries_merge", "revision"])

case("hrv_created", "Night-time HRV (RMSSD) samples from an Oura ring.",
     [step("created", ts("daily.data.hrv.created", OURA, [
         point("2026-11-18T03:00:00+00:00", 58, "rmssd", 19800), point("2026-11-18T03:05:00+00:00", 61, "rmssd", 19800)]),
         "msg_2Jx0A1hrv00001", NOW - 60)])

case("hrv_sdnn_kept_apart",
     "Junction documents HRV in RMSSD; Apple Watch measures SDNN. A batch labelled `sdnn` goes to "
     "hrv_sdnn_series and never into the RMSSD chunks of the same device and window.",
     [step("rmssd", ts("daily.data.hrv.created", WATCH, [point("2026-11-18T03:00:00+00:00", 44, "rmssd", 3600)]),
           "msg_2Jx0A1hrv00002", NOW - 120),
      step("sdnn", ts("daily.data.hrv.created", WATCH, [point("2026-11-18T03:00:00+00:00", 52, "sdnn", 3600)]),
           "msg_2Jx0A1hrv00003", NOW - 60)])

case("calories_active_created", "Active energy intervals from an Apple Watch (kcal).",
     [step("created", ts("daily.data.calories_active.created", WATCH, [
         interval("2026-11-18T15:00:00+00:00", "2026-11-18T15:10:00+00:00", 39.52, "kcal"),
         interval("2026-11-18T15:10:00+00:00", "2026-11-18T15:20:00+00:00", 31.27, "kcal")]),
         "msg_2Jx0A1cal00001", NOW - 60)])

case("distance_created", "Walking distance intervals from an iPhone (m).",
     [step("created", ts("daily.data.distance.created", src("apple_health_kit", "phone"), [
         interval("2026-11-18T16:00:00+00:00", "2026-11-18T16:07:00+00:00", 612.3, "m"),
         interval("2026-11-18T16:07:00+00:00", "2026-11-18T16:16:00+00:00", 804.9, "m")]),
         "msg_2Jx0A1dist0001", NOW - 60)])

LIBRE = src("freestyle_libre", "automatic")
case("glucose_created",
     "Freestyle Libre glucose in mmol/L (converted to mg/dL); one reading is a manual scan, which "
     "is its own Source Type and so its own device.",
     [step("created", ts("daily.data.glucose.created", LIBRE, [
         point("2026-11-18T08:00:00+00:00", 5.4, "mmol/L", 0, "automatic"),
         point("2026-11-18T08:05:00+00:00", 5.9, "mmol/L", 0, "automatic"),
         point("2026-11-18T08:07:00+00:00", 6.1, "mmol/L", 0, "manual_scan")]),
         "msg_2Jx0A1gluc0001", NOW - 60)])

case("blood_oxygen_created", "SpO2 readings (%) from an Oura ring.",
     [step("created", ts("daily.data.blood_oxygen.created", OURA, [
         point("2026-11-18T02:30:00+00:00", 97, "%", 19800), point("2026-11-18T02:35:00+00:00", 96, "%", 19800)]),
         "msg_2Jx0A1spo20001", NOW - 60)])

case("respiratory_rate_created", "Respiratory rate (breaths per minute) from an Oura ring.",
     [step("created", ts("daily.data.respiratory_rate.created", OURA, [
         point("2026-11-18T02:30:00+00:00", 14.5, "bpm", 19800)]),
         "msg_2Jx0A1resp0001", NOW - 60)])


def temp(t, value):
    return {"id": None, "timezone_offset": 0, "type": None, "unit": "°C", "timestamp": t,
            "start": t, "end": t, "value": value}


case("temperature_created",
     "Body temperature and body temperature delta from an Oura ring: both temperature_series, kinds "
     "body and deviation, in separate chunks.",
     [step("body temperature", ts("daily.data.body_temperature.created", OURA, [temp("2026-11-18T04:00:00+00:00", 36.4)]),
           "msg_2Jx0A1temp0001", NOW - 120),
      step("temperature delta", ts("daily.data.body_temperature_delta.created", OURA, [temp("2026-11-18T04:00:00+00:00", -0.21)]),
           "msg_2Jx0A1temp0002", NOW - 60)])

case("stress_level_created", "Garmin stress levels (0-100).",
     [step("created", ts("daily.data.stress_level.created", src("garmin", "watch"), [
         point("2026-11-18T10:00:00+00:00", 32, "%", -18000), point("2026-11-18T10:03:00+00:00", 45, "%", -18000)]),
         "msg_2Jx0A1stress001", NOW - 60)])

case("blood_pressure_created",
     "An Omron cuff reading: a blood_pressure snapshot per sample, keyed like a timeseries sample.",
     [step("created", ts("daily.data.blood_pressure.created", src("omron", "cuff"), [
         {"id": None, "timezone_offset": -18000, "type": None, "unit": "mmHg",
          "timestamp": "2026-11-18T12:30:00+00:00", "systolic": 124.0, "diastolic": 81.0}]),
         "msg_2Jx0A1bp000001", NOW - 60)])

SCALE = src("withings", "scale")
case("weight_and_fat_created",
     "Withings scale weight (kg) and body fat (%) samples at the same time: two body_measurement "
     "snapshots with different native ids (the resource is part of the key).",
     [step("weight", ts("daily.data.weight.created", SCALE, [point("2026-11-18T07:01:00+00:00", 71.4, "kg", -18000)]),
           "msg_2Jx0A1weight01", NOW - 120),
      step("fat", ts("daily.data.fat.created", SCALE, [point("2026-11-18T07:01:00+00:00", 18.9, "%", -18000)]),
           "msg_2Jx0A1fat00001", NOW - 60)])

case("calories_basal_acknowledged",
     "Basal energy has no Nexus type: the event is verified and acknowledged, nothing is emitted.",
     [step("created", ts("daily.data.calories_basal.created", WATCH, [
         {"id": None, "timezone_offset": 0, "type": None, "unit": "kcal",
          "timestamp": "2026-11-18T15:00:00+00:00", "value": 12.4}]),
         "msg_2Jx0A1basal001", NOW - 60)])

# ---------------------------------------------------------------- workout stream
WORKOUT_ID = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"
STREAM_EVENT = event("daily.data.workout_stream.created", {
    "user_id": USER, "workout_id": WORKOUT_ID, "provider_id": "fake-garmin-activity-9001",
    "message": f"Due to payload size limits, to access the workout stream, please use the /v2/timeseries/workouts/{WORKOUT_ID}/stream endpoint.",
    "source": src("garmin", "watch"), "sport": {"id": 1, "name": "Running", "slug": "running"}})
t0 = int(datetime(2026, 11, 18, 10, 35, 0, tzinfo=timezone.utc).timestamp())
STREAM = {
    "time": [t0 + i * 300 for i in range(6)],
    "heartrate": [128, 141, None, 155, 160, 149],
    "distance": [0.0, 842.5, 1701.0, 2575.3, 3459.8, 4302.2],
    "velocity_smooth": [2.6, 2.8, 2.86, 2.91, 2.95, 2.81],
    "altitude": [12.8, 15.1, 22.4, 30.0, 41.2, 35.5],
    "cadence": [168, 172, 174, 175, 176, 171],
    "lat": [47.5615, 47.5641, 47.5668, 47.5694, 47.5720, 47.5745],
    "lng": [-52.7126, -52.7101, -52.7077, -52.7052, -52.7028, -52.7003],
}
STREAM_PATH = f"/v2/timeseries/workouts/{WORKOUT_ID}/stream"
case("workout_stream_fetched",
     "A shallow workout_stream event: the adapter fetches the stream from Junction's REST endpoint "
     "with the team API key and emits heart-rate and distance chunks of that workout.",
     [step("created", STREAM_EVENT, "msg_2Jx0A1stream001", NOW - 60, exchanges=[{
         "request": {"method": "GET", "path": STREAM_PATH, "query": None},
         "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": STREAM}}])])

case("workout_stream_not_found",
     "The stream endpoint answers 404: the fetch fails with not_found.",
     [step("created", STREAM_EVENT, "msg_2Jx0A1stream002", NOW - 60, expect={"error": "not_found"}, exchanges=[{
         "request": {"method": "GET", "path": STREAM_PATH, "query": None},
         "response": {"status": 404, "headers": {"content-type": "application/json"},
                      "body": {"detail": "Workout stream not found"}}}])])

case("workout_stream_rate_limited",
     "The stream endpoint answers 429 with Retry-After: the fetch fails with rate_limited.",
     [step("created", STREAM_EVENT, "msg_2Jx0A1stream003", NOW - 60, expect={"error": "rate_limited"}, exchanges=[{
         "request": {"method": "GET", "path": STREAM_PATH, "query": None},
         "response": {"status": 429, "headers": {"content-type": "application/json", "retry-after": "30"},
                      "body": {"detail": "Too many requests"}}}])])

# ---------------------------------------------------------------- sync and connection
case("historical_pulls_completed",
     "Historical pulls of sleep and heart rate from Oura finished: sync completed, one per resource.",
     [step("sleep", event("historical.data.sleep.created", {
         "user_id": USER, "start_date": "2026-08-22T09:00:00+00:00", "end_date": "2026-11-20T08:50:00+00:00",
         "provider": "oura"}), "msg_2Jx0A1hist0001", NOW - 120),
      step("heartrate", event("historical.data.heartrate.created", {
         "user_id": USER, "start_date": "2026-08-22T09:00:00+00:00", "end_date": "2026-11-20T08:55:00+00:00",
         "provider": "oura"}), "msg_2Jx0A1hist0002", NOW - 60)])

case("connection_created_then_error",
     "A Fitbit connection is created, later Junction reports a token refresh failure: the same "
     "connection item, revision 2, status degraded.",
     [step("created", event("provider.connection.created", {
         "user_id": USER,
         "provider": {"name": "Fitbit", "slug": "fitbit", "logo": "https://storage.example.invalid/fitbit.png"},
         "resource_availability": {
             "sleep": {"status": "available", "scope_requirements": {
                 "user_granted": {"required": ["sleep"], "optional": ["heartrate"]},
                 "user_denied": {"required": [], "optional": []}}},
             "body": {"status": "unavailable", "scope_requirements": {
                 "user_granted": {"required": [], "optional": []},
                 "user_denied": {"required": ["weight"], "optional": []}}}}}),
         "msg_2Jx0A1conn0001", NOW - 600),
      step("error", event("provider.connection.error", {
         "provider": "fitbit", "user_id": USER,
         "message": "We could not refresh the access token. Please ask the user to reconnect Fitbit.",
         "error_type": "token_refresh_failed", "error_details": "invalid_grant"}),
         "msg_2Jx0A1conn0002", NOW - 60)],
     suites=["revision"])

# ---------------------------------------------------------------- bad requests
HRV = ts("daily.data.hrv.created", OURA, [point("2026-11-18T03:00:00+00:00", 58, "rmssd", 19800)])
raw_hrv = json.dumps(HRV, separators=(",", ":"))
case("bad_tampered_signature",
     "The body was changed after signing (58 -> 85): invalid_signature. A second signature from a "
     "rotated secret is also sent and matches nothing either.",
     [step("tampered", raw_hrv.replace('"value":58', '"value":85'), "msg_2Jx0A1bad00001", NOW - 60,
           signature=sign(SECRET, "msg_2Jx0A1bad00001", str(NOW - 62), raw_hrv),
           extra_sigs=(sign(OTHER_SECRET, "msg_2Jx0A1bad00001", str(NOW - 62), raw_hrv),),
           expect={"error": "invalid_signature"})])

case("bad_stale_timestamp",
     "A correctly signed request replayed 10 minutes after Svix signed it: stale_timestamp.",
     [step("replayed", HRV, "msg_2Jx0A1bad00002", NOW, ts_s=NOW - 600, expect={"error": "stale_timestamp"})])

case("bad_malformed_body",
     "A correctly signed body that is not JSON (truncated): malformed_payload.",
     [step("truncated", raw_hrv[: len(raw_hrv) // 2], "msg_2Jx0A1bad00003", NOW - 60,
           expect={"error": "malformed_payload"})])

case("bad_unsupported_event",
     "A correctly signed lab-testing event the adapter does not handle: unsupported_event.",
     [step("labtest", event("labtest.order.updated", {"id": "fake-order-1", "status": "collecting_sample"}),
           "msg_2Jx0A1bad00004", NOW - 60, expect={"error": "unsupported_event"})])

case("bad_sample_unit",
     "A correctly signed HRV batch in an unknown unit (`ms` could be RMSSD or SDNN, which Nexus "
     "never mixes): malformed_payload naming data.data[0].unit.",
     [step("unit", ts("daily.data.hrv.created", OURA, [point("2026-11-18T03:00:00+00:00", 58, "ms", 19800)]),
           "msg_2Jx0A1bad00005", NOW - 60, expect={"error": "malformed_payload"})])

if __name__ == "__main__":
    for name, c in CASES.items():
        with open(os.path.join(HERE, f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump(c, f, indent=2, ensure_ascii=False)
            f.write("\n")
    print(f"wrote {len(CASES)} cases to {HERE}")
