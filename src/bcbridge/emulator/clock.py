"""The emulator's clock: real time plus an offset the control API can advance."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

__all__ = ["Clock"]


class Clock:
    """Wall-clock time shifted by an adjustable offset, shared by every part of the emulator.

    Tests advance it (``POST /_emulator/clock``) to expire tokens, codes and webhook
    subscriptions without sleeping.
    """

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Current emulator time, timezone-aware UTC."""
        return datetime.now(UTC) + self._offset

    def timestamp(self) -> float:
        """Current emulator time in Unix seconds."""
        return self.now().timestamp()

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by ``seconds`` (negative moves it back); returns the new now."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta()
