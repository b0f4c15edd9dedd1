#!/usr/bin/env python3
"""Writes the Oura recorded cases (adapters/oura/cases/*.json).

Every body here is ours, shaped after Oura API v2 documents; every secret and token is fake.
Signatures are computed with Python's own `hmac` (an oracle independent of the Rust code):
x-oura-signature = HEX_UPPER(HMAC-SHA256(client secret, x-oura-timestamp + raw body)).

Run from anywhere: python3 adapters/oura/cases/make_cases.py
"""

import hashlib
import hmac
import json
import pathlib
from datetime import datetime, timedelta, timezone

HERE = pathlib.Path(__file__).resolve().parent
SECRET = "fake-oura-client-secret"
TOKEN = "fake-oura-verification-token"
USER = "oura-user-5c1e9a"

CONNECTION = {
    "tenant_id": "tenant-a",
    "user_id": "user-17",
    "external_user_ref": "ext-17",
    "connection_id": "conn-oura-17",
    "provider_user_id": USER,
    "access_token": "fake-oura-access-token",
}
SECRETS = {"webhook_secret": SECRET, "verification_token": TOKEN}


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def iso(dt, ms=False):
    s = dt.isoformat(timespec="milliseconds" if ms else "seconds")
    return s


def notification(event_type, data_type, object_id, event_time):
    # Key order as Oura's docs list the fields.
    return compact({
        "event_type": event_type,
        "data_type": data_type,
        "object_id": object_id,
        "event_time": iso(event_time),
        "user_id": USER,
    })


def signed_post(body, sent_at, secret=SECRET):
    ts = str(int(sent_at.timestamp()))
    sig = hmac.new(secret.encode(), ts.encode() + body.encode(), hashlib.sha256).hexdigest().upper()
    return {
        "method": "POST",
        "path": "/webhooks/oura",
        "query": None,
        "headers": {
            "content-type": "application/json",
            "x-oura-signature": sig,
            "x-oura-timestamp": ts,
        },
        "body": body,
    }


# Every API request must carry the connection's token (the replay server checks it).
BEARER = {"authorization": "Bearer fake-oura-access-token"}


def exchange(data_type, object_id, status, body, headers=None):
    h = {"content-type": "application/json"}
    h.update(headers or {})
    return {
        "request": {"method": "GET", "path": f"/v2/usercollection/{data_type}/{object_id}", "query": None,
                    "headers": BEARER},
        "response": {"status": status, "headers": h, "body": body},
    }


def webhook_step(name, event_type, data_type, object_id, event_time, fetched=None, expect="envelopes",
                 delay_s=31, **extra):
    sent_at = event_time + timedelta(seconds=delay_s)
    step = {
        "name": name,
        "now_ms": int(sent_at.timestamp() * 1000) + 1500,
        "request": signed_post(notification(event_type, data_type, object_id, event_time), sent_at),
        "exchanges": [fetched] if fetched else [],
        "expect": expect,
    }
    step.update(extra)
    return step


def pretty(obj, level=0):
    """Indented JSON, but a list of scalars (sample items) stays on one line."""
    pad = "  " * (level + 1)
    end = "  " * level
    if isinstance(obj, dict) and obj:
        inner = ",\n".join(f"{pad}{json.dumps(k)}: {pretty(v, level + 1)}" for k, v in obj.items())
        return "{\n" + inner + "\n" + end + "}"
    if isinstance(obj, list) and obj and any(isinstance(v, (dict, list)) for v in obj):
        inner = ",\n".join(pad + pretty(v, level + 1) for v in obj)
        return "[\n" + inner + "\n" + end + "]"
    return json.dumps(obj)


def case(name, description, steps, suites=(), robustness_skips=()):
    doc = {
        "description": description,
        "suites": list(suites),
        "connection": CONNECTION,
        "secrets": SECRETS,
        "steps": steps,
    }
    if robustness_skips:
        doc["robustness"] = {"skip": [{"mutation": m, "reason": r} for m, r in robustness_skips]}
    text = pretty(doc) + "\n"
    assert json.loads(text) == doc
    (HERE / f"{name}.json").write_text(text)


# ---------------------------------------------------------------- documents

NST = timezone(timedelta(hours=-3, minutes=-30))  # St. John's in November: negative half hour
EST = timezone(timedelta(hours=-5))
IST = timezone(timedelta(hours=5, minutes=30))
CET = timezone(timedelta(hours=1))


def sampled(start, values):
    return {"interval": 300.0, "items": values, "timestamp": iso(start, ms=True)}


def sleep_doc(sleep_id, start, phases, hr, hrv, tail_s=173, **overrides):
    end = start + timedelta(seconds=len(phases) * 300 - tail_s)
    in_bed = int((end - start).total_seconds())
    deep, light, rem, awake = (phases.count(c) * 300 for c in "1234")
    asleep = deep + light + rem
    hr_values = [v for v in hr if v is not None]
    hrv_values = [v for v in hrv if v is not None]
    doc = {
        "id": sleep_id,
        "average_breath": 14.875,
        "average_heart_rate": round(sum(hr_values) / len(hr_values), 3),
        "average_hrv": round(sum(hrv_values) / len(hrv_values)),
        "awake_time": in_bed - asleep,
        "bedtime_end": iso(end),
        "bedtime_start": iso(start),
        "day": (end.date()).isoformat(),
        "deep_sleep_duration": deep,
        "efficiency": round(100 * asleep / in_bed),
        "heart_rate": sampled(start, hr),
        "hrv": sampled(start, hrv),
        "latency": 900,
        "light_sleep_duration": light,
        "low_battery_alert": False,
        "lowest_heart_rate": int(min(hr_values)),
        "movement_30_sec": "1" * (len(phases) * 10),
        "period": 0,
        "readiness": {
            "contributors": {
                "activity_balance": 84, "body_temperature": 98, "hrv_balance": 71,
                "previous_day_activity": 77, "previous_night": 69, "recovery_index": 58,
                "resting_heart_rate": 90, "sleep_balance": 81,
            },
            "score": 78,
            "temperature_deviation": -0.14,
            "temperature_trend_deviation": 0.06,
        },
        "readiness_score_delta": 0,
        "rem_sleep_duration": rem,
        "restless_periods": 187,
        "sleep_phase_5_min": phases,
        "sleep_score_delta": 0,
        "sleep_algorithm_version": "v2",
        "time_in_bed": in_bed,
        "total_sleep_duration": asleep,
        "type": "long_sleep",
    }
    doc.update(overrides)
    return doc


SLEEP_ID = "4f0d2b8e-7a31-4c55-9e02-b6d1c3a87f14"
SLEEP_START = datetime(2024, 11, 10, 23, 41, 30, tzinfo=NST)
PHASES = ("44422211112222111122223333222222111122222233332222442222222233332222"
          "22223333344")
HR = [72.0, 70.0, 69.0, 66.0, 64.0, 63.0, 61.0, 60.0, 60.0, 59.0, 61.0, 62.0, None, 60.0, 58.0,
      57.0, 57.0, 58.0, 59.0, 61.0, 63.0, 62.0, 60.0, 59.0, 58.0, 58.0, 57.0, 56.0, 56.0, 57.0,
      58.0, 60.0, 61.0, 64.0, 62.0, 60.0, 59.0, 58.0, 57.0, 57.0, 56.0, 55.0, 55.0, 56.0, 57.0,
      59.0, 62.0, 65.0, 63.0, 60.0, 58.0, 57.0, 56.0, 56.0, 55.0, 55.0, 56.0, 58.0, 60.0, 61.0,
      63.0, 62.0, 60.0, 59.0, 58.0, 58.0, 59.0, 60.0, 62.0, 64.0, 63.0, 61.0, 60.0, 62.0, 65.0,
      66.0, 68.0, 71.0, 74.0]
HRV = [21.0, 24.0, 26.0, 31.0, 35.0, 38.0, 44.0, 47.0, 49.0, 52.0, 46.0, 43.0, None, 45.0, 51.0,
       55.0, 58.0, 54.0, 50.0, 44.0, 39.0, 41.0, 46.0, 49.0, 53.0, 56.0, 59.0, 62.0, 60.0, 57.0,
       52.0, 47.0, 43.0, 37.0, 41.0, 45.0, 49.0, 52.0, 55.0, 57.0, 61.0, 63.0, 64.0, 60.0, 55.0,
       48.0, 42.0, 36.0, 40.0, 45.0, 50.0, 54.0, 57.0, 59.0, 62.0, 63.0, 60.0, 55.0, 49.0, 46.0,
       41.0, 43.0, 46.0, 49.0, 52.0, 53.0, 50.0, 47.0, 43.0, 39.0, 41.0, 44.0, 46.0, 42.0, 37.0,
       33.0, 30.0, 27.0, 24.0]
assert len(PHASES) == len(HR) == len(HRV), (len(PHASES), len(HR), len(HRV))

SLEEP_V1 = sleep_doc(SLEEP_ID, SLEEP_START, PHASES, HR, HRV)
# Oura re-processed the night: the gap at item 12 got a reading, two late items were corrected,
# and the stages around the early morning were re-scored.
HR_V2 = list(HR)
HR_V2[12] = 61.0
HR_V2[70] = 62.0
HRV_V2 = list(HRV)
HRV_V2[12] = 44.0
PHASES_V2 = PHASES[:60] + "2222111122" + PHASES[70:]
SLEEP_V2 = sleep_doc(SLEEP_ID, SLEEP_START, PHASES_V2, HR_V2, HRV_V2)

NAP_ID = "a93c6e10-25d4-4b7f-8c1a-0e5f7d2b9c36"
NAP_START = datetime(2024, 11, 12, 14, 5, 0, tzinfo=IST)
NAP = sleep_doc(NAP_ID, NAP_START, "422222221", [66.0, 64.0, 63.0, 61.0, 60.0, 61.0, 62.0, 62.0, 64.0],
                [30.0, 33.0, 35.0, 38.0, 40.0, 37.0, 36.0, 35.0, 31.0], tail_s=95,
                type="sleep", readiness=None, latency=300, sleep_algorithm_version="v2")


def met(start, n):
    base = [0.9, 0.9, 1.0, 1.1, 0.9, 1.3, 2.4, 3.1, 1.2, 0.9]
    return {"interval": 60.0, "items": [base[i % len(base)] for i in range(n)], "timestamp": iso(start, ms=True)}


ACTIVITY_ID = "c2e7a4f1-0b9d-4e36-8d5a-71f3b2c96e08"
ACTIVITY_TS = datetime(2024, 11, 11, 4, 0, 0, tzinfo=EST)
DAILY_ACTIVITY = {
    "id": ACTIVITY_ID,
    "class_5_min": ("0" * 24 + "1" * 30 + "2" * 40 + "3" * 12 + "2" * 60 + "1" * 50 + "0" * 72),
    "score": 82,
    "active_calories": 487,
    "average_met_minutes": 1.4375,
    "contributors": {
        "meet_daily_targets": 60, "move_every_hour": 95, "recovery_time": 100,
        "stay_active": 78, "training_frequency": 71, "training_volume": 88,
    },
    "equivalent_walking_distance": 9140,
    "high_activity_met_minutes": 22,
    "high_activity_time": 480,
    "inactivity_alerts": 1,
    "low_activity_met_minutes": 164,
    "low_activity_time": 15360,
    "medium_activity_met_minutes": 131,
    "medium_activity_time": 2640,
    "met": met(ACTIVITY_TS, 1440),
    "meters_to_target": 1860,
    "non_wear_time": 900,
    "resting_time": 27300,
    "sedentary_met_minutes": 11,
    "sedentary_time": 39720,
    "steps": 11234,
    "target_calories": 550,
    "target_meters": 11000,
    "total_calories": 2618,
    "day": "2024-11-11",
    "timestamp": iso(ACTIVITY_TS),
}

READINESS_ID = "7d41e0c9-3f28-4a6b-b5e7-29c8d0a1f453"


def readiness(score, temp, hrv_balance):
    return {
        "id": READINESS_ID,
        "contributors": {
            "activity_balance": 86, "body_temperature": 97, "hrv_balance": hrv_balance,
            "previous_day_activity": 79, "previous_night": 72, "recovery_index": 63,
            "resting_heart_rate": 91, "sleep_balance": 84,
        },
        "day": "2024-11-11",
        "score": score,
        "temperature_deviation": temp,
        "temperature_trend_deviation": 0.05,
        "timestamp": "2024-11-11T00:00:00+00:00",
    }


WORKOUT_ID = "e5b38f27-91c0-4d6a-a2f4-6c0d8e1b7a95"
WORKOUT = {
    "id": WORKOUT_ID,
    "activity": "running",
    "calories": 412.381,
    "day": "2024-11-12",
    "distance": 6123.4521484375,
    "end_datetime": "2024-11-12T07:16:00+05:30",
    "intensity": "hard",
    "label": None,
    "source": "confirmed",
    "start_datetime": "2024-11-12T06:33:00+05:30",
}
MANUAL_WORKOUT_ID = "0a7c5d3e-6f19-4b82-9e4d-d3b1f8a26c70"
MANUAL_WORKOUT = {
    "id": MANUAL_WORKOUT_ID,
    "activity": "strengthTraining",
    "calories": 236.0,
    "day": "2024-11-11",
    "distance": None,
    "end_datetime": "2024-11-11T18:50:00+01:00",
    "intensity": "moderate",
    "label": "Leg day",
    "source": "manual",
    "start_datetime": "2024-11-11T18:05:00+01:00",
}

SPO2_ID = "3b9f0e62-d7a4-4c18-8f53-a1e6c2d09b74"
SPO2 = {"id": SPO2_ID, "breathing_disturbance_index": 9, "day": "2024-11-11",
        "spo2_percentage": {"average": 96.481}}

# ---------------------------------------------------------------- cases

T_SLEEP = datetime(2024, 11, 11, 10, 2, 11, tzinfo=timezone.utc)  # after bedtime_end 09:43:37Z

case("sleep-created", "A new main sleep (-03:30, a negative half-hour offset): notification, fetch "
     "by id, the sleep with its stages, HR and HRV (RMSSD) chunks.",
     [webhook_step("create", "create", "sleep", SLEEP_ID, T_SLEEP,
                   exchange("sleep", SLEEP_ID, 200, SLEEP_V1))])

case("sleep-nap-created", "A short confirmed nap (type sleep, +05:30) without a readiness block.",
     [webhook_step("create", "create", "sleep", NAP_ID, datetime(2024, 11, 12, 9, 31, 0, tzinfo=timezone.utc),
                   exchange("sleep", NAP_ID, 200, NAP))])

case("sleep-corrected", "Create, identical re-delivery (nothing emitted), then an update with a "
     "corrected sleep: the sleep and only the chunks whose samples changed re-emit with revision 2.",
     [webhook_step("create", "create", "sleep", SLEEP_ID, T_SLEEP, exchange("sleep", SLEEP_ID, 200, SLEEP_V1)),
      webhook_step("re-delivery of the same notification", "create", "sleep", SLEEP_ID, T_SLEEP,
                   exchange("sleep", SLEEP_ID, 200, SLEEP_V1), delay_s=95),
      webhook_step("update with the corrected sleep", "update", "sleep", SLEEP_ID,
                   T_SLEEP + timedelta(hours=2, minutes=4), exchange("sleep", SLEEP_ID, 200, SLEEP_V2))],
     suites=["revision", "timeseries_merge"])

case("sleep-deleted", "A sleep is created, then the user deletes it: a deletion of the sleep's "
     "source_id with deleted_at = the notification's event_time; no fetch for the delete.",
     [webhook_step("create", "create", "sleep", SLEEP_ID, T_SLEEP, exchange("sleep", SLEEP_ID, 200, SLEEP_V1)),
      webhook_step("delete", "delete", "sleep", SLEEP_ID, T_SLEEP + timedelta(hours=5, minutes=17, seconds=3))],
     suites=["deletion"])

case("sleep-rejected-as-rest", "A detected nap is created, then the user rejects it: Oura "
     "re-types it `rest` and sends an update; the sleep is withdrawn with a deletion.",
     [webhook_step("create", "create", "sleep", NAP_ID, datetime(2024, 11, 12, 9, 31, 0, tzinfo=timezone.utc),
                   exchange("sleep", NAP_ID, 200, NAP)),
      webhook_step("update to rest", "update", "sleep", NAP_ID, datetime(2024, 11, 12, 9, 52, 40, tzinfo=timezone.utc),
                   exchange("sleep", NAP_ID, 200, dict(NAP, type="rest")))],
     suites=["deletion"],
     robustness_skips=[
         (f"step1.exchange0:{m}:/type",
          "without `type` the period is no longer a rejected `rest`, so it is emitted as a sleep "
          "(is_nap null) where the unmutated step emitted a deletion; every sleep field is new "
          "against that baseline, and rem_s 0 is the document's own rem_sleep_duration (no '3' "
          "phase), not a stand-in")
         for m in ("remove", "null")])

case("daily-activity-created", "daily_activity (-05:00) becomes a daily_summary keyed by the document id.",
     [webhook_step("create", "create", "daily_activity", ACTIVITY_ID,
                   datetime(2024, 11, 12, 4, 6, 0, tzinfo=timezone.utc),
                   exchange("daily_activity", ACTIVITY_ID, 200, DAILY_ACTIVITY))])

case("daily-readiness-updated", "daily_readiness created, then updated with a new score: revision 2.",
     [webhook_step("create", "create", "daily_readiness", READINESS_ID,
                   datetime(2024, 11, 11, 6, 40, 2, tzinfo=timezone.utc),
                   exchange("daily_readiness", READINESS_ID, 200, readiness(74, -0.22, 66))),
      webhook_step("update", "update", "daily_readiness", READINESS_ID,
                   datetime(2024, 11, 11, 9, 12, 45, tzinfo=timezone.utc),
                   exchange("daily_readiness", READINESS_ID, 200, readiness(79, -0.19, 73)))],
     suites=["revision"])

case("workout-created", "An autodetected, confirmed run (+05:30, a half-hour offset) becomes an activity.",
     [webhook_step("create", "create", "workout", WORKOUT_ID,
                   datetime(2024, 11, 12, 1, 49, 30, tzinfo=timezone.utc),
                   exchange("workout", WORKOUT_ID, 200, WORKOUT))])

case("workout-manual-deleted", "A manually entered workout, then its deletion by the user.",
     [webhook_step("create", "create", "workout", MANUAL_WORKOUT_ID,
                   datetime(2024, 11, 11, 18, 2, 14, tzinfo=timezone.utc),
                   exchange("workout", MANUAL_WORKOUT_ID, 200, MANUAL_WORKOUT)),
      webhook_step("delete", "delete", "workout", MANUAL_WORKOUT_ID,
                   datetime(2024, 11, 11, 20, 44, 51, tzinfo=timezone.utc))],
     suites=["deletion"])

case("daily-spo2-created", "daily_spo2: the night's average becomes one spo2_series sample at the day "
     "(resolution_s 86400), see the crate docs for the decision.",
     [webhook_step("create", "create", "daily_spo2", SPO2_ID,
                   datetime(2024, 11, 11, 7, 3, 9, tzinfo=timezone.utc),
                   exchange("daily_spo2", SPO2_ID, 200, SPO2))])

T_ERR = datetime(2024, 11, 13, 7, 15, 0, tzinfo=timezone.utc)
case("fetch-unauthorized", "The fetch answers 401 (token expired or revoked): unauthorized.",
     [webhook_step("create", "create", "workout", WORKOUT_ID, T_ERR,
                   exchange("workout", WORKOUT_ID, 401,
                            {"status": 401, "title": "Unauthorized",
                             "detail": "Invalid or expired authentication token."}),
                   expect={"error": "unauthorized"})])

case("fetch-not-found", "The fetch answers 404 (the object is already gone): not_found.",
     [webhook_step("update", "update", "sleep", SLEEP_ID, T_ERR,
                   exchange("sleep", SLEEP_ID, 404, {"detail": "Document not found."}),
                   expect={"error": "not_found"})])

case("fetch-rate-limited", "The fetch answers 429 with Retry-After and the rate-limit headers: rate_limited.",
     [webhook_step("create", "create", "daily_activity", ACTIVITY_ID, T_ERR,
                   exchange("daily_activity", ACTIVITY_ID, 429,
                            {"status": 429, "title": "Too Many Requests",
                             "detail": "Rate limit exceeded. Retry after 37 seconds."},
                            {"retry-after": "37", "x-ratelimit-limit": "5000", "x-ratelimit-window": "300",
                             "x-ratelimit-reset": str(int(T_ERR.timestamp()) + 37), "x-ratelimit-tier": "token"}),
                   expect={"error": "rate_limited"})])

CHALLENGE = "c7Rk2vQm9XpL4tNa"
case("handshake-accepted", "Subscription handshake with the configured verification token: the "
     "challenge is echoed as JSON.",
     [{"name": "challenge", "now_ms": 1731481200000,
       "request": {"method": "GET", "path": "/webhooks/oura",
                   "query": f"verification_token={TOKEN}&challenge={CHALLENGE}", "headers": {}, "body": ""},
       "exchanges": [],
       "expect": {"handshake": {"status": 200, "body": compact({"challenge": CHALLENGE})}}}],
     suites=["handshake"])

case("handshake-refused", "Subscription handshake with a wrong verification token: refused.",
     [{"name": "challenge", "now_ms": 1731481200000,
       "request": {"method": "GET", "path": "/webhooks/oura",
                   "query": f"verification_token=fake-wrong-token&challenge={CHALLENGE}", "headers": {}, "body": ""},
       "exchanges": [],
       "expect": {"error": "invalid_signature"}}])

# Bad requests.
good = webhook_step("create", "create", "workout", WORKOUT_ID, T_ERR, expect={"error": "invalid_signature"})
good["request"]["body"] = good["request"]["body"].replace(WORKOUT_ID, MANUAL_WORKOUT_ID)
case("bad-signature", "The body was changed after signing (another object id): invalid_signature.", [good])

stale = webhook_step("create", "create", "workout", WORKOUT_ID, T_ERR, expect={"error": "stale_timestamp"})
stale["now_ms"] += 301_000
case("stale-timestamp", "A correctly signed notification arriving 5 minutes and 2.5 seconds after its "
     "x-oura-timestamp (tolerance 300 s): stale_timestamp.", [stale])

sent = T_ERR + timedelta(seconds=31)
malformed = {"name": "truncated body", "now_ms": int(sent.timestamp() * 1000) + 1500,
             "request": signed_post(notification("create", "workout", WORKOUT_ID, T_ERR)[:-27], sent),
             "exchanges": [], "expect": {"error": "malformed_payload"}}
case("malformed-body", "A correctly signed but truncated notification body: malformed_payload.", [malformed])

unknown = {"name": "unknown event_type", "now_ms": int(sent.timestamp() * 1000) + 1500,
           "request": signed_post(notification("archive", "workout", WORKOUT_ID, T_ERR), sent),
           "exchanges": [], "expect": {"error": "unsupported_event"}}
case("unsupported-event-type", "A notification with an event_type Oura does not document "
     "(`archive`): unsupported_event.", [unknown])

unmapped = {"name": "unmapped data_type", "now_ms": int(sent.timestamp() * 1000) + 1500,
            "request": signed_post(notification("create", "daily_stress", "9e1f3a7c-5b2d-4d80-a6c4-f08b7e2d1c55",
                                                T_ERR), sent),
            "exchanges": [], "expect": {"error": "unsupported_event"}}
case("unsupported-data-type", "A notification for an Oura data type this adapter does not map "
     "(`daily_stress`): unsupported_event.", [unmapped])

# Scheduled fetches: data Oura sends no webhook for, fetched by Nexus itself (connect time, a
# schedule, a backfill). Their envelopes have `sources: []`.
T_FETCH = datetime(2024, 11, 13, 6, 0, tzinfo=timezone.utc)


def fetch_step(name, at, kind, exchanges, range_=None, expect="envelopes"):
    fetch = {"kind": kind}
    if range_:
        fetch["range"] = [int(range_[0].timestamp() * 1000), int(range_[1].timestamp() * 1000)]
    return {"name": name, "now_ms": int(at.timestamp() * 1000), "fetch": fetch,
            "exchanges": exchanges, "expect": expect}


def personal_info_exchange(weight):
    body = {"id": USER, "age": 34, "weight": weight, "height": 1.79, "biological_sex": "male",
            "email": "fake-oura-user@example.com"}
    return {"request": {"method": "GET", "path": "/v2/usercollection/personal_info", "query": None,
                        "headers": BEARER},
            "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": body}}


case("personal-info-fetched", "personal_info has no webhook: fetched at connect time, it becomes the "
     "profile; a later scheduled fetch with a new weight re-emits it as revision 2.",
     [fetch_step("connect-time fetch", T_FETCH, "personal_info", [personal_info_exchange(71.2)]),
      fetch_step("scheduled refresh, weight changed", T_FETCH + timedelta(days=1), "personal_info",
                 [personal_info_exchange(70.4)])],
     suites=["revision"])

HR_START = datetime(2024, 11, 11, 8, 0, tzinfo=timezone.utc)


def heartrate_page(first_minute, bpms, next_token):
    times = [HR_START + timedelta(minutes=first_minute + 5 * i) for i in range(len(bpms))]
    rows = [{"bpm": bpm, "source": "awake", "timestamp": iso(t), "timestamp_unix": int(t.timestamp() * 1000)}
            for bpm, t in zip(bpms, times)]
    return {"data": rows, "next_token": next_token}


HR_QUERY = "start_datetime=2024-11-11T08:00:00Z&end_datetime=2024-11-11T09:00:00Z"
case("heartrate-backfill", "heartrate has no webhook: a backfill of one hour fetches two pages "
     "(next_token) and chunks the rows into UTC quarter hours.",
     [fetch_step("backfill 08:00-09:00 UTC", T_FETCH, "heartrate", [
         {"request": {"method": "GET", "path": "/v2/usercollection/heartrate", "query": HR_QUERY,
                      "headers": BEARER},
          "response": {"status": 200, "headers": {"content-type": "application/json"},
                       "body": heartrate_page(0, [61, 63, 66, 64, 70], "fake-next-page-2")}},
         {"request": {"method": "GET", "path": "/v2/usercollection/heartrate",
                      "query": HR_QUERY + "&next_token=fake-next-page-2", "headers": BEARER},
          "response": {"status": 200, "headers": {"content-type": "application/json"},
                       "body": heartrate_page(25, [72, 75, 71, 68], None)}}],
         range_=(HR_START, HR_START + timedelta(hours=1)))],
     robustness_skips=[(f"step0.exchange{j}:bad_date:/data/0/timestamp",
                        "rows carry both times; the adapter reads the exact `timestamp_unix` (ms) and "
                        "does not look at the `timestamp` string, so a bad string changes nothing")
                       for j in (0, 1)])

print("wrote", len(list(HERE.glob("*.json"))), "cases to", HERE)
