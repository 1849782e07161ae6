"""Helpers of the webhook tests: the emulator's notifications reach this Django site in-process.

:class:`DjangoTransport` is an httpx transport that hands each request to Django's test
client, so the emulator's handshakes and notification POSTs run the real receiver view
(URL routing, middleware, the view, the database) without a socket. ``down`` simulates a
receiver that cannot be reached (BC sees no answer and retries).
"""

from __future__ import annotations

from typing import Any

import httpx
from django.test import Client


class DjangoTransport(httpx.BaseTransport):
    """Serves httpx requests with ``django.test.Client``; counts them per status."""

    def __init__(self) -> None:
        self.client = Client()
        self.down = False
        self.statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("receiver down", request=request)
        path = request.url.raw_path.decode()
        skip = ("host", "content-length", "content-type")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in skip}
        answer: Any = self.client.generic(
            request.method, path, data=request.read(),
            content_type=request.headers.get("content-type", "application/octet-stream"), headers=headers,
        )
        self.statuses.append(answer.status_code)
        return httpx.Response(answer.status_code, headers=dict(answer.items()), content=answer.content)
