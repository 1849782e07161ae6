"""Route BC's and Entra's https host names to a TLS emulator inside the current process.

:func:`route_bc_hosts` is what :mod:`bcbridge.testing` and the pytest plugin's
``bc_emulator_tls_server`` fixture use to run clients that cannot be pointed anywhere else
(MSAL, bc-cli) unchanged against ``EmulatorServer(..., tls=ensure_certificates())``.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import TYPE_CHECKING, Any

from bcbridge.emulator.tls import BC_API_HOST, ENTRA_HOST

if TYPE_CHECKING:
    from collections.abc import Iterator

    from bcbridge.emulator.server import EmulatorServer

__all__ = ["route_bc_hosts"]

_CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
_HTTPS_PORTS = (443, "443", "https")
#: What the routed names resolve to inside :func:`route_bc_hosts`; connecting to it reaches
#: the emulator. A loopback address nothing else uses, so nothing can leave the machine.
_ROUTED_ADDRESS = "127.77.12.1"


@contextlib.contextmanager
def route_bc_hosts(
    server: EmulatorServer | None = None,
    hosts: tuple[str, ...] = (BC_API_HOST, ENTRA_HOST),
    *,
    port: int | None = None,
    ca: str | os.PathLike[str] | None = None,
) -> Iterator[None]:
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
        port / ca: Instead of ``server``: the loopback port and CA file of an emulator
            running elsewhere (``bcbridge emulator --tls`` prints both).

    Raises:
        ValueError: ``server`` is not started or serves plain http, or neither ``server``
            nor both ``port`` and ``ca`` are given.
    """
    if server is not None:
        if server.tls is None or not server.url.startswith("https://"):
            raise ValueError("route_bc_hosts needs a started EmulatorServer(..., tls=ensure_certificates())")
        port, ca = server.port, server.tls.ca
    if port is None or ca is None:
        raise ValueError("route_bc_hosts needs a TLS EmulatorServer, or the port and CA of a running emulator")
    names = {host.lower() for host in hosts}
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
    os.environ.update(dict.fromkeys(_CA_VARIABLES, os.fspath(ca)))
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
