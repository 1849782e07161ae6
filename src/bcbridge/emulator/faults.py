"""Injected failures: the transient errors a BC client must survive.

A :class:`FaultRule` says which requests fail and how; :class:`Faults` holds the rules and
picks, for each request, the first rule that fires. Rules fire either by script
(``count``: "the next N matching requests") or by chance (``probability``, drawn from a
random generator seeded by ``seed``, so a run is reproducible), optionally filtered by
method, a path regular expression and the side (``target``: BC, identity or both).

Faults (``fault``):

* ``"429"``, ``"502"``, ``"503"`` (with ``Retry-After``, as BC sends on 502/503 and the
  emulator also on 429, docs/bc/5-limits.md §5), ``"500"``, ``"504"`` and any other 4xx/5xx status:
  a BC error response (docs/bc/8-errors.md §8).
* ``"reset"``: the connection is dropped without an answer. On a real socket the emulator
  shuts the socket down; in-process it raises :class:`httpx.RemoteProtocolError`, which is
  what httpx raises when a server disconnects, so clients see a transport error either way.
* ``"slow"``: the answer is delayed by ``delay`` seconds (subject to the operation
  timeout of :class:`~bcbridge.emulator.limits.Limits`, which turns it into a 408).
* ``"truncate"``: the real status and headers, the body cut in half (``Content-Length``
  matches the cut body, so the client gets a complete response that is not valid JSON).

``after=True`` lets BC process the request first and then fails the answer: the write
happened but the client does not know it (for testing idempotent retries and outboxes).

Example ``PUT /_emulator/faults`` body::

    {"seed": 7, "rules": [
        {"fault": "503", "count": 2, "method": "GET", "path": "/items"},
        {"fault": "reset", "probability": 0.1}
    ]}
"""

from __future__ import annotations

import copy
import dataclasses
import random
import re
import socket
import struct
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from werkzeug.wrappers import Response

from bcbridge.emulator.errors import bc_error_response

if TYPE_CHECKING:
    from collections.abc import Iterable
    from wsgiref.types import StartResponse, WSGIEnvironment

    from werkzeug.wrappers import Request

__all__ = ["DisconnectResponse", "FaultRule", "Faults", "fault_response", "truncate"]

_NAMED = {"reset", "slow", "truncate"}
_TARGETS = {"bc", "identity", "any"}

# Codes in BC's families (docs/bc/8-errors.md §8); those for 502/504 are **UNVERIFIED** (a gateway
# answers them before BC sees the request).
_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    429: ("Application_TooManyRequests", "Too many requests reached."),
    500: ("Internal_ServerError", "An unexpected error occurred on the server."),
    502: ("Internal_BadGateway", "Bad Gateway."),
    503: ("Internal_ServiceUnavailable", "The service is temporarily unavailable."),
    504: ("Internal_GatewayTimeout", "Gateway Timeout."),
}
_RETRY_AFTER_STATUSES = {429, 502, 503}


@dataclass
class FaultRule:
    """Which requests fail, and how.

    Attributes:
        fault: ``"429"``, ``"500"``, ``"502"``, ``"503"``, ``"504"`` (any 4xx/5xx status as
            a string), ``"reset"``, ``"slow"`` or ``"truncate"``.
        count: Fire on the next ``count`` matching requests, then remove the rule;
            ``None`` keeps the rule forever.
        probability: Chance (0..1) that a matching request fires the rule.
        method: Only requests with this HTTP method (case-insensitive).
        path: Only requests whose path (with query string) matches this regular
            expression (``re.search``).
        target: ``"bc"`` (default), ``"identity"`` or ``"any"``.
        after: Process the request first, then fail the answer.
        retry_after: ``Retry-After`` seconds for 429/502/503 (``None``: no header for
            other statuses, 1 for those three).
        delay: Seconds of delay for ``"slow"``.
    """

    fault: str
    count: int | None = None
    probability: float = 1.0
    method: str | None = None
    path: str | None = None
    target: str = "bc"
    after: bool = False
    retry_after: int | None = None
    delay: float = 0.0

    def __post_init__(self) -> None:
        self.fault = str(self.fault)
        is_status = self.fault.isdigit() and 400 <= int(self.fault) <= 599
        if self.fault not in _NAMED and not is_status:
            raise ValueError(
                f"unknown fault {self.fault!r}: a 4xx/5xx status, reset, slow or truncate"
            )
        if self.target not in _TARGETS:
            raise ValueError(f"target must be one of {sorted(_TARGETS)}, got {self.target!r}")
        if not 0.0 <= float(self.probability) <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1")
        if self.path is not None:
            try:
                re.compile(self.path)
            except re.error as error:
                raise ValueError(f"path is not a regular expression: {error}") from error

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        """Build a rule from its JSON form; raises ``ValueError`` on unknown keys."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault rule keys: {', '.join(sorted(unknown))}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def matches(self, request: Request, target: str) -> bool:
        if self.target != "any" and self.target != target:
            return False
        if self.method and self.method.upper() != request.method.upper():
            return False
        if self.path:
            query = request.query_string.decode("latin-1")
            full = f"{request.path}?{query}" if query else request.path
            if not re.search(self.path, full):
                return False
        return True


class Faults:
    """The active fault rules, tried in order; thread-safe and reproducible.

    Args:
        seed: Seed of the generator behind ``probability`` rules. The generator is drawn
            once per request that matches a probability rule, so the same request sequence
            gives the same faults.
    """

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self.seed = seed
        self._random = random.Random(seed)

    def set(self, rules: Iterable[FaultRule], seed: int | None = None) -> None:
        """Replace every rule (and reseed when ``seed`` is given)."""
        with self._lock:
            self._rules = list(rules)
            if seed is not None:
                self.seed = seed
                self._random = random.Random(seed)

    def add(self, rule: FaultRule | None = None, **fields: Any) -> FaultRule:
        """Append a rule, given as a :class:`FaultRule` or as its fields."""
        rule = rule or FaultRule(**fields)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self, seed: int | None = None) -> None:
        """Remove every rule and restart the generator."""
        with self._lock:
            self._rules = []
            if seed is not None:
                self.seed = seed
            self._random = random.Random(self.seed)

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "rules": [rule.to_dict() for rule in self.rules()]}

    def pick(self, request: Request, target: str) -> FaultRule | None:
        """The rule that fires for ``request``, consuming one use of a scripted rule."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(request, target):
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                return copy.copy(rule)
        return None


def fault_response(rule: FaultRule) -> Response:
    """The error answer of a status fault (a BC error JSON, docs/bc/8-errors.md §8)."""
    status = int(rule.fault)
    code, message = _STATUS_ERRORS.get(status, ("Unknown", f"Injected fault {status}."))
    headers: dict[str, str] = {}
    retry_after = rule.retry_after
    if retry_after is None and status in _RETRY_AFTER_STATUSES:
        retry_after = 1
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return bc_error_response(status, code, message, headers)


def truncate(response: Response) -> Response:
    """``response`` with its body cut in half and ``Content-Length`` to match."""
    body = response.get_data()
    cut = Response(
        body[: len(body) // 2], status=response.status_code, headers=response.headers.copy()
    )
    cut.headers["Content-Length"] = str(len(body) // 2)
    return cut


class DisconnectResponse(Response):
    """A "response" that drops the connection instead of answering.

    On the real server the socket (``environ["bcbridge.emulator.socket"]``) is reset and a
    :class:`ConnectionResetError` tells the server the connection is gone. In-process (httpx's WSGI transport) it raises
    :class:`httpx.RemoteProtocolError`, as httpx does when a real server disconnects.
    """

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        sock = environ.get("bcbridge.emulator.socket")
        if isinstance(sock, socket.socket):
            try:
                # linger 0: close with RST, as a crashed gateway would
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            raise ConnectionResetError("emulator fault: connection reset")
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
