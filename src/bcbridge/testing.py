"""Test helpers for projects that use bcbridge: point connections at an in-process emulator.

Set ``BCBRIDGE["HTTP_TRANSPORT"] = "bcbridge.testing.emulator_transport"`` and call
:func:`use_emulator` with an :class:`~bcbridge.emulator.Emulator`; every connection then
talks to that emulator without a socket. The pytest fixtures in ``tests/conftest.py`` of
bcbridge show the pattern.

For clients you cannot configure (MSAL, bc-cli, anything hard-wired to
``https://api.businesscentral.dynamics.com`` and ``https://login.microsoftonline.com``),
serve the emulator with TLS and use :func:`route_bc_hosts`: inside the current process
those two names then resolve to the emulator and the emulator's CA is the trusted one.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from bcbridge.emulator import Emulator
from bcbridge.emulator.routing import route_bc_hosts

__all__ = ["CountingTransport", "emulator_transport", "route_bc_hosts", "use_emulator"]

_current: Emulator | None = None


class CountingTransport(httpx.BaseTransport):
    """Wraps a transport and counts requests per path (thread-safe), e.g. token requests."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.counts[request.url.path] = self.counts.get(request.url.path, 0) + 1
        return self.inner.handle_request(request)

    def count(self, suffix: str) -> int:
        """Requests whose path ends with ``suffix``."""
        with self._lock:
            return sum(n for path, n in self.counts.items() if path.endswith(suffix))


_transport: CountingTransport | None = None


def use_emulator(emulator: Emulator | None) -> CountingTransport | None:
    """Route every connection's HTTP to ``emulator`` in-process (None: stop)."""
    global _current, _transport
    _current = emulator
    _transport = CountingTransport(emulator.transport()) if emulator is not None else None
    return _transport


def emulator_transport(connection: Any) -> httpx.BaseTransport:
    """``HTTP_TRANSPORT`` factory: the transport of the emulator set by :func:`use_emulator`."""
    if _transport is None:
        raise RuntimeError("No emulator in use: call bcbridge.testing.use_emulator(emulator) first.")
    return _transport
