#!/usr/bin/env python3
"""A loopback webhook receiver that verifies every request with the PyPI `standardwebhooks`
package (version 1.1.0), an implementation of the Standard Webhooks spec that is not ours.

Used by the Rust tests of nexus-sink-webhook and nexus-server, never in production:

    $NEXUS_PYTHON verify_standardwebhooks.py --secret whsec_... [--secret whsec_...] [--status 204]

It listens on 127.0.0.1 (a free port unless --port is given) and prints, one JSON object per line
on stdout, flushed:

    {"listening": "http://127.0.0.1:PORT/"}                                 once, at start
    {"verified": true, "secret_index": 0, "webhook_id": ..., "webhook_timestamp": ...,
     "path": ..., "body": <the raw body as text>}                          per verified request
    {"verified": false, "error": "...", "webhook_id": ..., ...}             per refused request

A request verified with any --secret is answered with --status (default 204); any other request
with 401. `Webhook.verify` checks the headers, the signature over "id.timestamp.body" (every `v1`
entry of a space-separated list) and a timestamp within 5 minutes of now, and parses the body as
JSON. Exit status 3 when the installed package is not the expected version.
"""

import argparse
import importlib.metadata
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EXPECTED_VERSION = "1.1.0"


def emit(obj):
    # One writer at a time: the server handles requests on several threads.
    with emit.lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


emit.lock = threading.Lock()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret", action="append", required=True, help="whsec_... (repeatable)")
    parser.add_argument("--status", type=int, default=204, help="answer to a verified request")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    try:
        version = importlib.metadata.version("standardwebhooks")
    except importlib.metadata.PackageNotFoundError:
        print("the `standardwebhooks` package is not installed in this interpreter "
              f"({sys.executable}); pip install standardwebhooks=={EXPECTED_VERSION}",
              file=sys.stderr)
        return 3
    if version != EXPECTED_VERSION:
        print(f"standardwebhooks {version} is installed, the tests expect {EXPECTED_VERSION}",
              file=sys.stderr)
        return 3

    from standardwebhooks.webhooks import Webhook

    verifiers = [Webhook(s) for s in args.secret]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            report = {
                "path": self.path,
                "webhook_id": headers.get("webhook-id"),
                "webhook_timestamp": headers.get("webhook-timestamp"),
                "content_type": headers.get("content-type"),
            }
            errors = []
            for index, verifier in enumerate(verifiers):
                try:
                    verifier.verify(body, headers)
                except Exception as e:  # the package raises several types; all mean "refused"
                    errors.append(f"secret {index}: {type(e).__name__}: {e}")
                    continue
                report.update(verified=True, secret_index=index,
                              body=body.decode("utf-8"))
                emit(report)
                self.answer(args.status)
                return
            report.update(verified=False, error="; ".join(errors))
            emit(report)
            self.answer(401)

        def answer(self, status):
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format, *log_args):
            pass  # stdout carries the JSON reports only

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    emit({"listening": f"http://127.0.0.1:{server.server_address[1]}/"})
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
