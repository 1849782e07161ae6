"""A bounded, thread-safe log of the requests the emulator answered, with counters.

Tests read it through ``GET /_emulator/requests`` and ``GET /_emulator/counters`` (or
``emulator.control.log``) to check, for example, that a client refreshed its token once
or backed off after a 429.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["LoggedRequest", "RequestLog"]


@dataclass(frozen=True)
class LoggedRequest:
    """One answered request.

    Attributes:
        time: Emulator time of arrival, ISO 8601 UTC.
        kind: ``"bc"`` (``/v2.0/...``) or ``"identity"`` (token, authorize, discovery).
        method: HTTP method.
        path: Path with the query string, as received.
        status: HTTP status sent, or ``None`` when a fault dropped the connection.
        duration_ms: Time from arrival to answer, milliseconds (queue wait included).
        user: The access token's ``oid``; ``None`` for requests without a valid token.
        fault: Name of the injected fault (``"503"``, ``"reset"``, ``"slow"``, ...), if any.
    """

    time: str
    kind: str
    method: str
    path: str
    status: int | None
    duration_ms: float
    user: str | None = None
    fault: str | None = None


class RequestLog:
    """The last ``maxlen`` requests plus counters over all requests since the last clear."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=maxlen)
        self._by_status: Counter[str] = Counter()
        self._by_kind: Counter[str] = Counter()
        self._by_fault: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)
            self._by_status[str(entry.status) if entry.status is not None else "none"] += 1
            self._by_kind[entry.kind] += 1
            if entry.fault:
                self._by_fault[entry.fault] += 1

    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` entries (all kept ones when ``None``), oldest first."""
        with self._lock:
            items = list(self._entries)
        if limit is not None:
            items = items[-limit:] if limit > 0 else []
        return [asdict(item) for item in items]

    def counters(self) -> dict[str, Any]:
        """``{"total": n, "by_status": {"200": n, ...}, "by_kind": {...}, "faults": {...}}``."""
        with self._lock:
            return {
                "total": sum(self._by_kind.values()),
                "by_status": dict(self._by_status),
                "by_kind": dict(self._by_kind),
                "faults": dict(self._by_fault),
            }

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_status.clear()
            self._by_kind.clear()
            self._by_fault.clear()
