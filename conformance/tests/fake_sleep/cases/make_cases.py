#!/usr/bin/env python3
"""Writes the recorded cases of the FAKE `fake_sleep` adapter (conformance/tests/fake_sleep).

Signatures are HMAC-SHA256 (hex) over "<timestamp>.<body>" with the case's fake secret, computed
here independently of the Rust fake. Run from anywhere: python3 make_cases.py
"""
import hashlib
import hmac
import json
import os

SECRET = "fake-sleep-webhook-secret"
TOKEN = "fake-verify-token"
T0 = 1710072900000  # 2024-03-10T12:15:00Z
HERE = os.path.dirname(os.path.abspath(__file__))

CONNECTION = {
    "tenant_id": "tenant-a",
    "user_id": "user-1",
    "external_user_ref": "ext-1",
    "connection_id": "conn-1",
    "provider_user_id": "fs-user-1",
    "access_token": "fake-access-token",
}
SECRETS = {"webhook_secret": SECRET, "verification_token": TOKEN}


def signed(body, now_ms, secret=SECRET, tamper=False):
    ts = str(now_ms // 1000)
    sig = hmac.new(secret.encode(), f"{ts}.{body}".encode(), hashlib.sha256).hexdigest()
    if tamper:
        body = body.replace("s-1", "s-2")
    return {
        "method": "POST",
        "path": "/webhooks/fake_sleep",
        "query": None,
        "headers": {
            "content-type": "application/json",
            "x-fake-timestamp": ts,
            "x-fake-signature": sig,
        },
        "body": body,
    }


def webhook(kind, notification_id, **extra):
    return json.dumps(
        {"type": kind, "notification_id": notification_id, "sleep_id": "s-1", "user_id": "fs-user-1", **extra},
        separators=(",", ":"),
    )


def sleep(updated_at, score, hr):
    return {
        "id": "s-1",
        "start": "2024-03-09T23:50:00Z",
        "end": "2024-03-10T07:10:00Z",
        "updated_at": updated_at,
        "score": score,
        "hr": [{"ts": ts, "bpm": bpm} for ts, bpm in hr],
    }


def fetch(body):
    return [
        {
            "request": {"method": "GET", "path": "/v1/sleep/s-1", "query": None},
            "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": body},
        }
    ]


V1 = sleep(
    "2024-03-10T08:00:00Z",
    80,
    [("2024-03-10T00:00:00Z", 58), ("2024-03-10T00:05:00Z", 57), ("2024-03-10T00:20:00Z", 55)],
)
V2 = sleep(
    "2024-03-10T09:00:00Z",
    85,
    [("2024-03-10T00:05:00Z", 59), ("2024-03-10T00:10:00Z", 56)],
)


def write(name, case):
    with open(os.path.join(HERE, f"{name}.json"), "w") as f:
        json.dump(case, f, indent=2)
        f.write("\n")


write(
    "sleep-sequence",
    {
        "description": "A sleep fetched after a notification, corrected an hour later (score and an overlapping heart-rate batch), then the first version delivered again late",
        "suites": ["revision", "out_of_order", "timeseries_merge"],
        "connection": CONNECTION,
        "secrets": SECRETS,
        "steps": [
            {"name": "first delivery", "now_ms": T0, "request": signed(webhook("sleep.updated", "n-1"), T0), "exchanges": fetch(V1)},
            {"name": "corrected", "now_ms": T0 + 60000, "request": signed(webhook("sleep.updated", "n-2"), T0 + 60000), "exchanges": fetch(V2)},
            {"name": "late older copy", "now_ms": T0 + 120000, "request": signed(webhook("sleep.updated", "n-3"), T0 + 120000), "exchanges": fetch(V1), "stale": True},
        ],
    },
)

write(
    "sleep-deleted",
    {
        "description": "A sleep delivered, then deleted by the provider",
        "suites": ["deletion"],
        "connection": CONNECTION,
        "secrets": SECRETS,
        "steps": [
            {"name": "delivered", "now_ms": T0, "request": signed(webhook("sleep.updated", "n-1"), T0), "exchanges": fetch(V1)},
            {"name": "deleted", "now_ms": T0 + 60000, "request": signed(webhook("sleep.deleted", "n-2", deleted_at="2024-03-10T12:16:00Z"), T0 + 60000)},
        ],
    },
)

write(
    "handshake",
    {
        "description": "The subscription handshake: the right token gets the challenge back, a wrong one is refused",
        "suites": ["handshake"],
        "connection": CONNECTION,
        "secrets": SECRETS,
        "steps": [
            {"name": "challenge", "now_ms": T0, "request": {"method": "GET", "path": "/webhooks/fake_sleep", "query": f"challenge=c-123&verification_token={TOKEN}", "headers": {}, "body": ""}, "expect": {"handshake": {"status": 200, "body": "c-123"}}},
            {"name": "wrong token", "now_ms": T0, "request": {"method": "GET", "path": "/webhooks/fake_sleep", "query": "challenge=c-123&verification_token=fake-wrong", "headers": {}, "body": ""}, "expect": {"error": "unauthorized"}},
        ],
    },
)

write(
    "bad-requests",
    {
        "description": "A body changed after signing, a replayed old request, an unknown event type",
        "connection": CONNECTION,
        "secrets": SECRETS,
        "steps": [
            {"name": "tampered", "now_ms": T0, "request": signed(webhook("sleep.updated", "n-1"), T0, tamper=True), "expect": {"error": "invalid_signature"}},
            {"name": "replayed an hour later", "now_ms": T0 + 3600000, "request": signed(webhook("sleep.updated", "n-1"), T0), "expect": {"error": "stale_timestamp"}},
            {"name": "unknown type", "now_ms": T0, "request": signed(webhook("sleep.exploded", "n-1"), T0), "expect": {"error": "unsupported_event"}},
        ],
    },
)
