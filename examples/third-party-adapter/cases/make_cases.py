#!/usr/bin/env python3
"""Writes the recorded cases of the Acme example adapter (a fictional provider).

Signatures: `acme-signature: t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the case's fake
secret, computed here independently of the Rust code. Run: python3 cases/make_cases.py
"""
import hashlib
import hmac
import json
import os

SECRET = "fake-acme-webhook-secret"
T0 = 1710086400000  # 2024-03-10T16:00:00Z
HERE = os.path.dirname(os.path.abspath(__file__))
CONNECTION = {
    "tenant_id": "tenant-a",
    "user_id": "user-1",
    "external_user_ref": "ext-1",
    "connection_id": "conn-acme-1",
    "provider_user_id": "acme-u-1",
    "access_token": None,
}


def body(event, event_id, data):
    return json.dumps({"event": event, "event_id": event_id, "user_id": "acme-u-1", "data": data}, separators=(",", ":"))


def request(raw, signed_at_ms, secret=SECRET, tamper=None):
    t = str(signed_at_ms // 1000)
    sig = hmac.new(secret.encode(), f"{t}.{raw}".encode(), hashlib.sha256).hexdigest()
    if tamper:
        raw = raw.replace(*tamper)
    return {
        "method": "POST",
        "path": "/webhooks/acme",
        "query": None,
        "headers": {"content-type": "application/json", "acme-signature": f"t={t},v1={sig}"},
        "body": raw,
    }


def step(name, now_ms, raw, **extra):
    return {"name": name, "now_ms": now_ms, "request": request(raw, now_ms), **extra}


WORKOUT_V1 = {
    "id": "w-100",
    "sport": "running",
    "start": "2024-03-10T07:00:00-05:00",
    "end": "2024-03-10T07:42:30-05:00",
    "distance_km": 7.2,
    "steps": 6890,
    "active_kcal": 512,
    "avg_hr": 151,
    "max_hr": None,
    "updated_at": "2024-03-10T12:50:00Z",
}
WORKOUT_V2 = dict(WORKOUT_V1, distance_km=7.35, max_hr=178, updated_at="2024-03-10T13:10:00Z")
DAILY = {
    "date": "2024-03-10",
    "utc_offset": "+05:30",
    "steps": 9120,
    "distance_km": 6.4,
    "floors": None,
    "kcal_total": 2210,
    "kcal_active": 540,
    "active_min": 48,
    "resting_hr": 55,
    "updated_at": "2024-03-10T18:20:00Z",
}


def write(name, case):
    case = {"connection": CONNECTION, "secrets": {"webhook_secret": SECRET}, **case}
    with open(os.path.join(HERE, f"{name}.json"), "w") as f:
        json.dump(case, f, indent=2)
        f.write("\n")


write("workout-corrected", {
    "description": "A run (UTC-5) created, corrected by Acme (distance, max HR), then the first version re-delivered late",
    "suites": ["revision", "out_of_order"],
    "steps": [
        step("created", T0, body("workout.created", "evt-1", WORKOUT_V1)),
        step("corrected", T0 + 60000, body("workout.updated", "evt-2", WORKOUT_V2)),
        step("first version again, late", T0 + 120000, body("workout.created", "evt-1", WORKOUT_V1), stale=True),
    ],
})

write("daily-summary", {
    "description": "A daily summary in a +05:30 zone, then the same delivery again (nothing new)",
    "steps": [
        step("daily", T0, body("daily.updated", "evt-10", DAILY)),
        step("same again", T0 + 30000, body("daily.updated", "evt-10", DAILY)),
    ],
})

write("workout-deleted", {
    "description": "A workout delivered, then deleted in the Acme app",
    "suites": ["deletion"],
    "steps": [
        step("created", T0, body("workout.created", "evt-1", WORKOUT_V1)),
        step("deleted", T0 + 60000, body("workout.deleted", "evt-3", {"id": "w-100", "deleted_at": "2024-03-10T16:00:30Z"})),
    ],
})

raw = body("workout.created", "evt-1", WORKOUT_V1)
write("bad-requests", {
    "description": "Requests Nexus must refuse: a body changed after signing, a replay after the tolerance, an unknown event, a body that is not JSON",
    "steps": [
        {"name": "tampered", "now_ms": T0, "request": request(raw, T0, tamper=('"distance_km":7.2', '"distance_km":72')), "expect": {"error": "invalid_signature"}},
        {"name": "replayed 10 minutes later", "now_ms": T0 + 600000, "request": request(raw, T0), "expect": {"error": "stale_timestamp"}},
        step("unknown event", T0, body("sleep.created", "evt-9", {"id": "s-1"}), expect={"error": "unsupported_event"}),
        step("not JSON", T0, '{"event":"workout.created",', expect={"error": "malformed_payload"}),
    ],
})
