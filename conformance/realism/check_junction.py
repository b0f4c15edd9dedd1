#!/usr/bin/env python3
# requires: junction-api-sdk==2.0.0
"""Realism check for the Junction recorded cases: every provider body in the cases must be accepted
by Junction's published Python client models (junction-api-sdk 2.0.0, pydantic v2).

usage: python3 conformance/realism/check_junction.py adapters/junction/cases [more dirs or files]

Checked, one line per body:
- each step's webhook body: the model for its `event_type` (found by introspecting the SDK's
  `event_type` Literal/enum annotations), validated from the raw JSON text in strict mode;
- each exchange's 200 response body on the workout-stream route: `ClientFacingStream`.
A body fails when validation fails, when it has keys the models do not declare (they accept
unknown keys silently, so those are walked and reported), or when an enum value is one the SDK
does not know (its forward-compatibility `_UNKNOWN` member).
Skipped, with a line saying why: steps whose expected outcome is `malformed_payload` or
`unsupported_event` (deliberately not a valid Junction event) and non-2xx exchange bodies (error
documents, not resources). Exit 0 only when every checked body passes.
"""
import base64
import enum
import inspect
import json
import os
import re
import sys
import typing

import pydantic
import junction.types as T

SKIP_ERRORS = {"malformed_payload", "unsupported_event"}
STREAM_ROUTE = re.compile(r"^/v2/timeseries/workouts/[^/]+/stream$")


def event_models():
    """event_type string -> model class, read from each model's `event_type` annotation."""
    out = {}
    for name in dir(T):
        cls = getattr(T, name)
        if not (inspect.isclass(cls) and issubclass(cls, pydantic.BaseModel)):
            continue
        field = cls.model_fields.get("event_type")
        if field is None:
            continue
        ann = field.annotation
        if typing.get_origin(ann) is typing.Literal:
            values = typing.get_args(ann)
        elif inspect.isclass(ann) and issubclass(ann, enum.Enum):
            values = [m.value for m in ann if not m.name.startswith("_")]
        else:
            continue
        for v in values:
            out[v] = cls
    return out


def problems(model, path="$"):
    """Undeclared keys and unknown enum values anywhere in a validated model."""
    found = [f"{path}.{k}: undeclared key" for k in (model.model_extra or {})]
    for name in type(model).model_fields:
        found += value_problems(getattr(model, name), f"{path}.{name}")
    return found


def value_problems(v, path):
    if isinstance(v, pydantic.BaseModel):
        return problems(v, path)
    if isinstance(v, enum.Enum) and v.name.startswith("_"):
        return [f"{path}: {v.value!r} is not a value the SDK knows"]
    if isinstance(v, (list, tuple)):
        return [p for i, x in enumerate(v) for p in value_problems(x, f"{path}[{i}]")]
    if isinstance(v, dict):
        return [p for k, x in v.items() for p in value_problems(x, f"{path}.{k}")]
    return []


def validate(cls, raw):
    """Strict validation from the raw JSON text; returns a list of problems (empty = valid)."""
    try:
        m = cls.model_validate_json(raw, strict=True)
    except pydantic.ValidationError as e:
        return [f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors()]
    return problems(m)


def case_files(args):
    for a in args:
        if os.path.isdir(a):
            for f in sorted(os.listdir(a)):
                if f.endswith(".json"):
                    yield os.path.join(a, f)
        else:
            yield a


def main(args):
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    models = event_models()
    ok, checked = True, 0
    for path in case_files(args):
        with open(path, encoding="utf-8") as f:
            case = json.load(f)
        name = os.path.basename(path)
        for i, st in enumerate(case.get("steps", [])):
            where = f"{name} step {i}"
            req = st.get("request", {})
            expect = st.get("expect", "envelopes")
            err = expect.get("error") if isinstance(expect, dict) else None
            if err in SKIP_ERRORS:
                print(f"{where}: skipped (expects {err}: deliberately not a valid Junction event)")
            elif "body" not in req and "body_base64" not in req:
                print(f"{where}: FAIL the step has no body")
                ok = False
            else:
                raw = req["body"] if "body" in req else base64.b64decode(req["body_base64"])
                if not isinstance(raw, str):
                    raw = json.dumps(raw) if not isinstance(raw, bytes) else raw
                try:
                    event_type = json.loads(raw).get("event_type")
                except (ValueError, AttributeError):
                    event_type = None
                cls = models.get(event_type)
                checked += 1
                if cls is None:
                    print(f"{where}: FAIL event_type {event_type!r} has no junction-api-sdk model")
                    ok = False
                else:
                    found = validate(cls, raw)
                    ok &= not found
                    print(f"{where}: {event_type} -> {cls.__name__} " + ("valid" if not found else "FAIL " + "; ".join(found)))
            for j, ex in enumerate(st.get("exchanges") or []):
                resp = ex.get("response", {})
                route = ex.get("request", {}).get("path", "")
                w = f"{where} exchange {j} ({route})"
                if not 200 <= int(resp.get("status", 0)) < 300:
                    print(f"{w}: skipped (HTTP {resp.get('status')} error document)")
                    continue
                if not STREAM_ROUTE.match(route):
                    print(f"{w}: FAIL no junction-api-sdk model known for this route")
                    ok = False
                    continue
                body = resp.get("body")
                raw = body if isinstance(body, str) else json.dumps(body)
                checked += 1
                found = validate(T.ClientFacingStream, raw)
                ok &= not found
                print(f"{w}: ClientFacingStream " + ("valid" if not found else "FAIL " + "; ".join(found)))
    print(f"{checked} bodies checked: " + ("all valid" if ok else "FAILURES above"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
