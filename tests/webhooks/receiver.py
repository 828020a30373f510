"""A webhook receiver on loopback for wharf's tests: verifies every request with the published
`standardwebhooks` package (PyPI, pinned in .ci/requirements.txt) and logs each as one JSON
line. The secret comes from WHARF_RECEIVER_SECRET (never argv).

    python receiver.py LOG_FILE [--fail-first N] [--fail-status 503] [--hold-ms MS]
                                [--hold-first-ms MS] [--retry-after SECONDS]

Prints `listening PORT` once it listens. Logs `{"phase": "arrived"}` when a request arrives,
then holds it (`--hold-ms`, and `--hold-first-ms` more for an event's first attempt), then
answers: 401 to a request whose signature does not verify, the fail status to the first N
verified attempts of each event id, 204 after; that line has `arrivedAt` and `answeredAt`
(monotonic seconds), so overlapping deliveries show.
"""

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

parser = argparse.ArgumentParser()
parser.add_argument("log")
parser.add_argument("--fail-first", type=int, default=0)
parser.add_argument("--fail-status", type=int, default=503)
parser.add_argument("--hold-ms", type=int, default=0)
parser.add_argument("--hold-first-ms", type=int, default=0)
parser.add_argument("--retry-after", type=int, default=None)
args = parser.parse_args()
webhook = Webhook(os.environ["WHARF_RECEIVER_SECRET"])
attempts = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        arrived = time.monotonic()
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with lock, open(args.log, "a", encoding="utf-8") as log:
            log.write(json.dumps({"phase": "arrived", "id": self.headers.get("webhook-id")}) + "\n")
        entry = {
            "id": self.headers.get("webhook-id"),
            "contentType": self.headers.get("content-type"),
            "signatures": len((self.headers.get("webhook-signature") or "").split(" ")),
        }
        try:
            event = webhook.verify(body, dict(self.headers))
            entry.update(verified=True, type=event.get("type"), event=event)
        except WebhookVerificationError as error:
            entry.update(verified=False, error=str(error))
        with lock:
            attempt = attempts.get(entry["id"], 0) + 1
            attempts[entry["id"]] = attempt
        entry["attempt"] = attempt
        hold = args.hold_ms + (args.hold_first_ms if attempt == 1 else 0)
        time.sleep(hold / 1000)
        if not entry["verified"]:
            status = 401
        elif attempt <= args.fail_first:
            status = args.fail_status
        else:
            status = 204
        entry.update(phase="answered", answered=status, arrivedAt=arrived, answeredAt=time.monotonic())
        with lock, open(args.log, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
        self.send_response(status)
        if args.retry_after is not None and status not in (204, 401):
            self.send_header("retry-after", str(args.retry_after))
        if 300 <= status < 400:
            # A client that followed it would come straight back, within the same attempt.
            self.send_header("location", self.path)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening {server.server_address[1]}", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
