"""What happens around every BC request: limits, faults, timeouts and the request log.

Used by :class:`bcbridge.emulator.control.Control` (``guard`` for BC, ``observe`` for
identity). Order for a BC request (docs/bc/5-limits.md §5): the per-user rate window and queue
(:class:`~bcbridge.emulator.limits.Limiter`; 429/503), then a fault if a rule fires
(:mod:`~bcbridge.emulator.faults`), then the handler, then the simulated server time
(``Limits.latency_ms`` / ``per_record_us``, still holding the slot), then the timeouts:
processing longer than ``operation_timeout`` -> 408 (BC cancels the session), arrival to answer longer than
``execution_limit`` -> 504. A slow fault that would outlast a timeout sleeps only until the
timeout and answers with it, so tests can use tiny timeouts.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bcbridge.emulator.errors import BCError
from bcbridge.emulator.faults import DisconnectResponse, fault_response, truncate
from bcbridge.emulator.limits import limit_error
from bcbridge.emulator.requestlog import LoggedRequest

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request, Response

    from bcbridge.emulator.faults import FaultRule, Faults
    from bcbridge.emulator.limits import Limiter
    from bcbridge.emulator.requestlog import RequestLog

__all__ = ["Guard"]


class Guard:
    """Applies limits and faults to requests and logs them.

    Args:
        limiter: Per-user limits (``None`` for identity requests, which BC's limits
            don't cover).
        faults: The fault rules.
        log: Where answered requests are recorded.
        now_iso: Emulator time as ISO 8601 (for the log).
    """

    def __init__(
        self, limiter: Limiter, faults: Faults, log: RequestLog, now_iso: Callable[[], str]
    ) -> None:
        self.limiter = limiter
        self.faults = faults
        self.log = log
        self._now_iso = now_iso
        #: How simulated server time is spent (tests replace it to observe or gate it).
        self.work: Callable[[float], object] = time.sleep

    def run(
        self,
        request: Request,
        kind: str,
        handler: Callable[[Request], Response],
        user: str | None,
        limited: bool,
    ) -> Response:
        """Serve ``request`` with ``handler`` under limits (when ``limited``) and faults."""
        arrived = time.monotonic()
        stamp = self._now_iso()
        status: int | None = 500
        fault: str | None = None
        try:
            if limited and user is not None:
                try:
                    self.limiter.acquire(user)
                except BCError as error:
                    response = error.response()
                    status = response.status_code
                    return response
                try:
                    began = time.monotonic()
                    response, fault = self._serve(request, kind, handler, arrived, timed=True)
                    self._work(response, time.monotonic() - began)
                finally:
                    self.limiter.release(user)
            else:
                response, fault = self._serve(request, kind, handler, arrived, timed=limited)
            status = None if isinstance(response, DisconnectResponse) else response.status_code
            return response
        finally:
            query = request.query_string.decode("latin-1")
            self.log.record(
                LoggedRequest(
                    time=stamp,
                    kind=kind,
                    method=request.method,
                    path=f"{request.path}?{query}" if query else request.path,
                    status=status,
                    duration_ms=round((time.monotonic() - arrived) * 1000, 3),
                    user=user,
                    fault=fault,
                )
            )

    def _serve(
        self,
        request: Request,
        kind: str,
        handler: Callable[[Request], Response],
        arrived: float,
        timed: bool,
    ) -> tuple[Response, str | None]:
        rule = self.faults.pick(request, kind)
        started = time.monotonic()

        def call() -> Response:
            try:
                return handler(request)
            except BCError as error:
                return error.response()

        if rule is None:
            response = call()
        elif rule.fault == "slow":
            if not rule.after:
                self._sleep(rule, arrived, started, timed)
                late = self._timeout(arrived, started) if timed else None
                if late is not None:
                    return late, rule.fault
            response = call()
            if rule.after:
                self._sleep(rule, arrived, started, timed)
        elif rule.fault == "truncate":
            response = truncate(call())
        else:
            if rule.after:
                call()
            response = DisconnectResponse() if rule.fault == "reset" else fault_response(rule)
        if timed and not isinstance(response, DisconnectResponse):
            response = self._timeout(arrived, started) or response
        return response, rule.fault if rule else None

    def _work(self, response: Response, spent: float) -> None:
        """Hold the processing slot until the configured server time has passed
        (``Limits.latency_ms`` plus ``per_record_us`` per record served, counted by the
        handler as ``response.bc_records``), so concurrent requests of a user overlap as on
        BC. The emulator's own work (``spent`` seconds) is part of that time."""
        seconds = self.limiter.limits.service_time(int(getattr(response, "bc_records", 0)))
        if seconds > 0:
            seconds = max(0.0, seconds - spent)
        if seconds > 0:
            self.work(seconds)  # simulated server work, not synchronisation

    def _sleep(self, rule: FaultRule, arrived: float, started: float, timed: bool) -> None:
        delay = rule.delay
        if timed:
            limits = self.limiter.limits
            now = time.monotonic()
            budget = min(
                limits.operation_timeout - (now - started), limits.execution_limit - (now - arrived)
            )
            # sleep just past the budget so the timeout check below fires
            delay = min(delay, max(budget, 0.0) + 0.005)
        if delay > 0:
            time.sleep(delay)

    def _timeout(self, arrived: float, started: float) -> Response | None:
        limits = self.limiter.limits
        now = time.monotonic()
        if now - started > limits.operation_timeout:
            return limit_error(408, maximum=limits.operation_timeout).response()
        if now - arrived > limits.execution_limit:
            return limit_error(504, maximum=limits.execution_limit).response()
        return None
