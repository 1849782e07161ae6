"""A local event receiver for the events tests: a real HTTP server on 127.0.0.1 that verifies
every request with the ``standardwebhooks`` library (the reference implementation of the
Standard Webhooks spec, not bcbridge's code) and can fail for a while."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Receiver:
    url: str
    secret: str = ""
    fail_next: int = 0  # answer this many requests with fail_status first
    fail_status: int = 503
    accepted: list[dict[str, Any]] = field(default_factory=list)  # verified and answered 2xx
    refused: list[int] = field(default_factory=list)
    refused_ids: list[str] = field(default_factory=list)
    forged: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            try:
                payload = Webhook(self.secret).verify(body, headers)
            except WebhookVerificationError as exc:
                self.forged.append(str(exc))
                return 400
            if self.fail_next > 0:
                self.fail_next -= 1
                self.refused.append(self.fail_status)
                self.refused_ids.append(headers["webhook-id"])
                return self.fail_status
            self.accepted.append({"id": headers["webhook-id"], **payload})
            return 204


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """Start a receiver on a free loopback port; stopped and closed on exit."""
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.handle({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, name="event-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def records_of(receiver: Receiver) -> list[tuple[str, str]]:
    """``(type, record id)`` of each accepted event, in arrival order."""
    out = []
    for event in receiver.accepted:
        data = event["data"]
        ident = data["record"]["id"] if "record" in data else str(data["outbox"]["id"])
        out.append((event["type"], ident))
    return out


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
