#!/usr/bin/env python3
# requires: oura-toolkit==0.4.0
"""Realism check for the Oura recorded cases: every provider body in the cases must be accepted by
the models of `oura-toolkit` 0.4.0 (generated from Oura's OpenAPI spec, pydantic v2, strict types).

usage: python3 conformance/realism/check_oura.py adapters/oura/cases

Checked bodies:
- webhook notification bodies (POST requests): oura-toolkit has no model for them, so they are
  checked here against Oura's documented field set {event_type, data_type, object_id, event_time,
  user_id} with the toolkit's own enums (`WebhookOperation`, `ExtApiV2DataType`);
- fetched API responses (`exchanges[].response.body`): 2xx bodies against the model of the
  endpoint they answer; error bodies must carry Oura's `detail` string (RFC 7807 style
  `status`/`title` allowed).

Keys a model does not declare are reported as failures too (the models ignore extra keys, so the
input is compared with `model_dump()`). A step that deliberately sends an invalid body (expects
`malformed_payload` or `unsupported_event`) is reported, not counted, when its body is invalid. One line per body; exit 0 only
when every checked body is valid.
"""

import json
import pathlib
import re
import sys
from datetime import datetime

import pydantic
from oura_toolkit.api.models import (
    ExtApiV2DataType,
    PersonalInfoResponse,
    PublicDailyActivity,
    PublicDailyReadiness,
    PublicDailySpO2,
    PublicModifiedSleepModel,
    PublicWorkout,
    TimeSeriesResponsePublicHeartRateRow,
    WebhookOperation,
)

DOCUMENT_MODELS = {
    "sleep": PublicModifiedSleepModel,
    "daily_activity": PublicDailyActivity,
    "daily_readiness": PublicDailyReadiness,
    "workout": PublicWorkout,
    "daily_spo2": PublicDailySpO2,
}
NOTIFICATION_KEYS = {"event_type", "data_type", "object_id", "event_time", "user_id"}
DELIBERATELY_INVALID = {"malformed_payload", "unsupported_event"}


def undeclared(raw, dumped, path="$"):
    """Keys present in `raw` that the model dropped."""
    found = []
    if isinstance(raw, dict) and isinstance(dumped, dict):
        for key, value in raw.items():
            if key not in dumped:
                found.append(f"{path}.{key}")
            else:
                found += undeclared(value, dumped[key], f"{path}.{key}")
    elif isinstance(raw, list) and isinstance(dumped, list):
        for i, (r, d) in enumerate(zip(raw, dumped)):
            found += undeclared(r, d, f"{path}[{i}]")
    return found


def check_model(model, body):
    """None when valid, else the reason."""
    try:
        parsed = model.model_validate(body)
    except pydantic.ValidationError as e:
        return f"{model.__name__} rejects it: " + "; ".join(
            f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
    extra = undeclared(body, parsed.model_dump(by_alias=True))
    if extra:
        return f"{model.__name__} does not declare {extra}"
    return None


def check_notification(text):
    try:
        body = json.loads(text)
    except ValueError as e:
        return f"not JSON ({e})"
    if not isinstance(body, dict):
        return "not a JSON object"
    if set(body) != NOTIFICATION_KEYS:
        return f"keys {sorted(body)} differ from the documented {sorted(NOTIFICATION_KEYS)}"
    try:
        WebhookOperation(body["event_type"])
        ExtApiV2DataType(body["data_type"])
    except ValueError as e:
        return str(e)
    for key in ("object_id", "user_id", "event_time"):
        if not isinstance(body[key], str) or not body[key]:
            return f"{key} must be a non-empty string"
    try:
        when = datetime.fromisoformat(body["event_time"])
    except ValueError:
        return f"event_time {body['event_time']!r} is not ISO 8601"
    if when.tzinfo is None:
        return "event_time has no offset"
    return None


def model_for_path(path):
    if path == "/v2/usercollection/personal_info":
        return PersonalInfoResponse
    if path == "/v2/usercollection/heartrate":
        return TimeSeriesResponsePublicHeartRateRow
    m = re.fullmatch(r"/v2/usercollection/([a-z_0-9]+)/[^/]+", path)
    if m and m.group(1) in DOCUMENT_MODELS:
        return DOCUMENT_MODELS[m.group(1)]
    return None


def check_error_body(body):
    if not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        return "an Oura error body carries a `detail` string"
    extra = set(body) - {"detail", "status", "title"}
    if extra:
        return f"unexpected keys {sorted(extra)} in an error body"
    return None


def main(folder):
    files = sorted(pathlib.Path(folder).glob("*.json"))
    if not files:
        print(f"no cases in {folder}")
        return 1
    failures = 0
    checked = 0
    for file in files:
        case = json.loads(file.read_text())
        for i, step in enumerate(case["steps"]):
            where = f"{file.name} step {i}"
            expect = step.get("expect")
            expected_error = expect.get("error") if isinstance(expect, dict) else None
            request = step["request"]
            if request["method"] == "POST":
                problem = check_notification(request.get("body", ""))
                if problem and expected_error in DELIBERATELY_INVALID:
                    print(f"{where} notification: invalid as the case intends "
                          f"(expects {expected_error}): {problem}")
                else:
                    checked += 1
                    failures += problem is not None
                    print(f"{where} notification: " + (f"INVALID: {problem}" if problem else "valid"))
            for j, ex in enumerate(step.get("exchanges", [])):
                path = ex["request"]["path"]
                status = ex["response"]["status"]
                body = ex["response"]["body"]
                if isinstance(body, str):
                    body = json.loads(body)
                label = f"{where} exchange {j} GET {path} -> {status}"
                if 200 <= status < 300:
                    model = model_for_path(path)
                    problem = "no model for this endpoint" if model is None else check_model(model, body)
                    name = model.__name__ if model else "?"
                else:
                    problem = check_error_body(body)
                    name = "error body"
                checked += 1
                failures += problem is not None
                print(f"{label}: {name} " + (f"INVALID: {problem}" if problem else "valid"))
    print(f"{checked} bodies checked, {failures} invalid")
    return 0 if failures == 0 and checked > 0 else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
