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

import contextlib
import os
import socket
import threading
from typing import TYPE_CHECKING, Any

import httpx

from bcbridge.emulator import Emulator
from bcbridge.emulator.tls import BC_API_HOST, ENTRA_HOST

if TYPE_CHECKING:
    from collections.abc import Iterator

    from bcbridge.emulator.server import EmulatorServer

__all__ = ["CountingTransport", "emulator_transport", "route_bc_hosts", "use_emulator"]

_CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
_HTTPS_PORTS = (443, "443", "https")
#: What the routed names resolve to inside :func:`route_bc_hosts`; connecting to it reaches
#: the emulator. A loopback address nothing else uses, so nothing can leave the machine.
_ROUTED_ADDRESS = "127.77.12.1"


@contextlib.contextmanager
def route_bc_hosts(server: EmulatorServer, hosts: tuple[str, ...] = (BC_API_HOST, ENTRA_HOST)) -> Iterator[None]:
    """Send ``https://`` traffic for BC's and Entra's host names to ``server``, in this process.

    ``socket.getaddrinfo`` answers ``(host, 443)`` for each of ``hosts`` with a private
    loopback address, and ``socket.socket.connect`` sends connections to that address to
    ``127.0.0.1:server.port``. So every client that uses Python's socket module (httpx,
    anyio, asyncio, requests, urllib) connects to the emulator while still sending SNI and
    ``Host`` for, and verifying the certificate of, the real name. ``SSL_CERT_FILE``
    (OpenSSL, httpx) and ``REQUESTS_CA_BUNDLE`` (requests, so MSAL) point at the emulator's
    CA for the duration. Both are restored on exit.

    This is process-wide, so use it around a test (not in threads that must reach the real
    Microsoft hosts). Outside the process, use ``/etc/hosts`` (``bcbridge emulator hosts``)
    or ``curl --connect-to``.

    Args:
        server: A started :class:`~bcbridge.emulator.server.EmulatorServer` with ``tls``.
        hosts: The names to route (default: BC's API host and Entra's sign-in host).

    Raises:
        ValueError: ``server`` is not started or serves plain http.
    """
    if server.tls is None or not server.url.startswith("https://"):
        raise ValueError("route_bc_hosts needs a started EmulatorServer(..., tls=ensure_certificates())")
    names = {host.lower() for host in hosts}
    port = server.port
    previous_getaddrinfo = socket.getaddrinfo
    previous_connect, previous_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def getaddrinfo(host: Any, service: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name.lower().rstrip(".") in names and service in _HTTPS_PORTS:
            return [
                (socket.AF_INET, kind, proto or socket.IPPROTO_TCP, "", (_ROUTED_ADDRESS, 443))
                for kind in ((type,) if type else (socket.SOCK_STREAM,))
            ]
        return previous_getaddrinfo(host, service, family, type, proto, flags)

    def target(address: Any) -> Any:
        # clients that keep the port they asked for (anyio) and those that take the
        # resolved address (urllib3) both end up on the emulator
        if isinstance(address, tuple) and address[:1] == (_ROUTED_ADDRESS,):
            return ("127.0.0.1", port)
        return address

    def connect(self: socket.socket, address: Any) -> None:
        return previous_connect(self, target(address))

    def connect_ex(self: socket.socket, address: Any) -> int:
        return previous_connect_ex(self, target(address))

    saved = {name: os.environ.get(name) for name in _CA_VARIABLES}
    socket.getaddrinfo = getaddrinfo
    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex  # type: ignore[method-assign]
    os.environ.update(dict.fromkeys(_CA_VARIABLES, str(server.tls.ca)))
    try:
        yield
    finally:
        socket.getaddrinfo = previous_getaddrinfo
        socket.socket.connect, socket.socket.connect_ex = previous_connect, previous_connect_ex  # type: ignore[method-assign]
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
