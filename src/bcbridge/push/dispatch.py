"""The outbox dispatcher: claim due messages, send them, record what happened. Never twice.

Three short database transactions per run and no transaction open while BC is called:

1. **Claim**: due messages (pending with ``next_attempt_at <= now``, or in flight with an
   expired lease: a crashed worker) are locked with ``SELECT ... FOR UPDATE SKIP LOCKED``
   on PostgreSQL, so parallel workers take different rows, and marked ``in_flight`` with a
   lease and a fresh ``attempt_id`` (a compare-and-set on the old one, which also keeps
   SQLite, which has no row locks, correct). A stale lease is claimed as **outcome
   unknown**: the dead worker may have sent it.
2. **Send** (:mod:`bcbridge.push._steps`), directly or in ``$batch`` requests.
3. **Record** the outcome, only if ``attempt_id`` is still ours.

Claims are **per message** (``$batch`` mode: per chunk of up to 100), so parallel
dispatchers share the work and a claim never waits behind a thousand others. Right before
every write (POST, PATCH, DELETE, bound action, ``$batch``) the dispatcher **fences**: a
compare-and-set on ``attempt_id`` that also renews the lease. A dispatcher whose lease was
taken over therefore never sends (:class:`LeaseLost`); a lease only expires while one
request is out for longer than ``lease_seconds``, which ``HTTP_TIMEOUT`` (30 s) prevents.

Outcome rules (one pure function, :func:`classify`):

* success: ``sent`` with BC's id, number, ETag and answer;
* connect errors (nothing left this process), token and rate-limiter problems: back to
  ``pending`` after exponential back-off with jitter, or ``Retry-After`` when BC sends a
  longer one;
* any other transient answer **while a write was out** (408, 429, 500, 502, 503, 504,
  broken connections, truncated bodies): the same, and the message is marked *outcome
  unknown*, so the next attempt first looks for the earlier one in BC (salesOrders by
  ``externalDocumentNumber``, one filtered GET) and adopts it instead of creating a second
  record (BC's API has no idempotency key). 429 and 503 are included: BC documents them as
  "not processed" (docs/bc/5-limits.md §5), but a gateway in front of BC answers 503 after BC has
  created the record. Only a create without lookup fields is re-sent blindly after a 429
  or 503 (the documented case; the alternative would park every such create in a storm);
* permanent errors (400 ``BadRequest_*``/``Application_*``, 403, 404, mapping errors, a
  conflict the policy parks): ``parked`` with BC's message;
* after ``max_attempts`` transient failures: ``parked``.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from bcbridge.entities import BC
from bcbridge.events import record_outbox_outcome
from bcbridge.exceptions import (
    BCAPIError,
    BCBridgeError,
    FatalError,
    RetriableError,
    TokenEndpointError,
    TransportError,
)
from bcbridge.http import RateLimitTimeout, RetryPolicy
from bcbridge.models import Connection, OutboxMessage, OutboxStatus
from bcbridge.push import _steps
from bcbridge.push._steps import Job, LeaseLost

__all__ = [
    "DispatchPolicy",
    "DispatchResult",
    "LeaseLost",
    "Verdict",
    "claim",
    "classify",
    "dispatch_due",
    "drain",
    "fence",
]

#: Statuses BC documents as "not processed" (docs/bc/5-limits.md §5, §8); a gateway may still answer
#: them after BC processed the request, so a write with lookup fields looks BC up anyway.
_NOT_PROCESSED = frozenset({429, 503})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class DispatchPolicy:
    """Timing of the dispatcher.

    Attributes:
        lease_seconds: How long a claim lasts; a worker silent for longer is presumed dead.
        max_attempts: Transient failures before a message is parked.
        backoff_base: First back-off in seconds; doubles per attempt.
        backoff_cap: Longest back-off in seconds.
        retry_after_cap: Longest wait taken from ``Retry-After``, seconds.
        rng: Jitter source in [0, 1).
    """

    lease_seconds: float = 300.0
    max_attempts: int = 20
    backoff_base: float = 2.0
    backoff_cap: float = 900.0
    retry_after_cap: float = 3600.0
    rng: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, attempts: int, retry_after: float | None) -> float:
        """Seconds until the next attempt: back-off with "equal jitter" (half fixed, half
        random, so a storm of failures spreads out but never retries at once), or the
        ``Retry-After`` when BC asks for longer."""
        ceiling = min(float(self.backoff_cap), float(self.backoff_base) * 2.0 ** max(attempts - 1, 0))
        backoff = ceiling / 2 + float(self.rng()) * ceiling / 2
        if retry_after is not None:
            return max(backoff if attempts > 3 else 0.0, min(retry_after, self.retry_after_cap))
        return backoff


@dataclass(frozen=True)
class Verdict:
    """What to do with a failed message: ``retry`` or ``park``; ``unknown`` marks a write
    that may have reached BC; ``documented_unprocessed`` marks the 429/503 answers BC
    documents as "not processed" (a create without lookup fields is re-sent after them)."""

    action: str
    unknown: bool = False
    retry_after: float | None = None
    documented_unprocessed: bool = False


def classify(error: BaseException, *, writing: bool) -> Verdict:
    """The verdict for ``error`` raised while handling a message.

    Args:
        error: The exception.
        writing: Whether a write request was out when it happened.
    """
    retry_after = getattr(error, "retry_after", None)
    if isinstance(error, BCAPIError):
        if isinstance(error, RetriableError):
            return Verdict("retry", writing, retry_after, error.status in _NOT_PROCESSED)
        if error.status == 401:
            return Verdict("retry", False, retry_after)  # the connection needs attention, not the message
        return Verdict("park")
    if isinstance(error, TransportError):
        cause = error.__cause__
        return Verdict("retry", writing and not isinstance(cause, _NOT_SENT))
    if isinstance(error, TokenEndpointError | RateLimitTimeout):
        return Verdict("retry", False)
    if isinstance(error, RetriableError):
        return Verdict("retry", writing, retry_after)
    if isinstance(error, FatalError | BCBridgeError):
        return Verdict("park")
    # A bug or a database hiccup: retry later, and be careful if a write was out.
    return Verdict("retry", writing)


@dataclass
class DispatchResult:
    """Counts of one dispatch run (add them up with ``+``)."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    parked: int = 0
    adopted: int = 0
    lost_lease: int = 0
    errors: list[str] = field(default_factory=list)

    def __add__(self, other: DispatchResult) -> DispatchResult:
        return DispatchResult(
            self.claimed + other.claimed,
            self.sent + other.sent,
            self.retried + other.retried,
            self.parked + other.parked,
            self.adopted + other.adopted,
            self.lost_lease + other.lost_lease,
            self.errors + other.errors,
        )


def claim(
    limit: int | None = None,
    *,
    now: datetime | None = None,
    connection: Connection | None = None,
    lease_seconds: float = 300.0,
) -> list[OutboxMessage]:
    """Claim due messages (see the module docstring) and return them, in flight and ours.

    A claim that lost every row to a parallel dispatcher (SQLite, which has no row locks)
    tries again, a few times, so an empty answer means nothing is due.
    """
    for _ in range(5):
        rows, claimed = _claim_once(limit, now=now, connection=connection, lease_seconds=lease_seconds)
        if claimed or not rows:
            return claimed
    return []


def _claim_once(
    limit: int | None, *, now: datetime | None, connection: Connection | None, lease_seconds: float
) -> tuple[int, list[OutboxMessage]]:
    now = now or timezone.now()
    token = uuid.uuid4()
    due = Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=OutboxStatus.IN_FLIGHT, lease_expires_at__lt=now
    )
    with transaction.atomic():
        query = OutboxMessage.objects.filter(due, connection__enabled=True)
        if connection is not None:
            query = query.filter(connection=connection)
        query = query.order_by("next_attempt_at", "id")
        if db_connection.features.has_select_for_update_skip_locked:
            query = query.select_for_update(skip_locked=True, of=("self",))
        rows = list(query.values_list("pk", "status", "attempt_id")[: limit or 1000])
        lease = now + timedelta(seconds=lease_seconds)
        common = {"status": OutboxStatus.IN_FLIGHT, "attempt_id": token, "lease_expires_at": lease, "updated_at": now}
        fresh = [pk for pk, status, _ in rows if status == OutboxStatus.PENDING]
        stale = [pk for pk, status, _ in rows if status == OutboxStatus.IN_FLIGHT]
        if fresh:
            OutboxMessage.objects.filter(pk__in=fresh, status=OutboxStatus.PENDING).update(
                attempts=F("attempts") + 1, **common
            )
        if stale:
            OutboxMessage.objects.filter(pk__in=stale, status=OutboxStatus.IN_FLIGHT, lease_expires_at__lt=now).update(
                attempts=F("attempts") + 1,
                outcome_unknown=True,
                last_error="The worker's lease expired (crash?): outcome unknown.",
                **common,
            )
    claimed = list(OutboxMessage.objects.filter(attempt_id=token).select_related("connection").order_by("id"))
    return len(rows), claimed


def fence(job: Job, lease_seconds: float, now: datetime) -> None:
    """Renew ``job``'s lease until ``now + lease_seconds`` if the claim is still ours.

    Raises:
        LeaseLost: Another dispatcher holds the message now (it claimed it after our lease
            expired); the caller must not send.
    """
    renewed = OutboxMessage.objects.filter(
        pk=job.message.pk, attempt_id=job.token, status=OutboxStatus.IN_FLIGHT
    ).update(lease_expires_at=now + timedelta(seconds=lease_seconds))
    if not renewed:
        raise LeaseLost(f"outbox message #{job.message.pk} was taken over by another dispatcher")


def _record(job: Job, **changes: Any) -> bool:
    """Save the outcome if the claim is still ours (a compare-and-set on ``attempt_id``)."""
    message = job.message
    changes.setdefault("lease_expires_at", None)
    changes["updated_at"] = timezone.now()
    fields = {
        "state": message.state,
        "outcome_unknown": message.outcome_unknown,
        "bc_id": message.bc_id,
        "bc_number": message.bc_number,
        "bc_etag": message.bc_etag,
        "result": message.result,
    }
    updated = OutboxMessage.objects.filter(pk=message.pk, attempt_id=job.token, status=OutboxStatus.IN_FLIGHT).update(
        **fields, **changes
    )
    return bool(updated)


def _sent(job: Job, result: DispatchResult) -> None:
    with transaction.atomic():  # events hook (bcbridge.events): the event commits with the status
        sent = _record(job, status=OutboxStatus.SENT, sent_at=timezone.now(), last_error="")
        if sent:
            record_outbox_outcome(job.message, "sent")
    if sent:
        result.sent += 1
        result.adopted += bool(job.message.state.get("adopted"))
    else:
        result.lost_lease += 1


def _failed(job: Job, error: BaseException, policy: DispatchPolicy, now: datetime, result: DispatchResult) -> None:
    message = job.message
    verdict = classify(error, writing=job.writing)
    if verdict.unknown and not (verdict.documented_unprocessed and not message.lookup):
        message.outcome_unknown = True
    text = (
        str(getattr(error, "message", "") or error)
        if isinstance(error, BCAPIError)
        else f"{type(error).__name__}: {error}"
    )
    if verdict.action == "retry" and message.attempts >= policy.max_attempts:
        text = f"gave up after {message.attempts} attempts: {text}"
    common: dict[str, Any] = {
        "last_error": text[:4000],
        "last_error_code": (getattr(error, "code", "") or type(error).__name__)[:120],
        "last_status": getattr(error, "status", None),
    }
    if verdict.action == "retry" and message.attempts < policy.max_attempts:
        wait = policy.delay(message.attempts, verdict.retry_after)
        recorded = _record(job, status=OutboxStatus.PENDING, next_attempt_at=now + timedelta(seconds=wait), **common)
        result.retried += recorded
    else:
        with transaction.atomic():  # events hook (bcbridge.events): the event commits with the status
            recorded = _record(job, status=OutboxStatus.PARKED, **common)
            if recorded:
                record_outbox_outcome(job.message, "parked")
        result.parked += recorded
    result.errors.append(f"#{message.pk}: {text[:200]}")
    if not recorded:
        result.lost_lease += 1


def _complete(bc: BC, job: Job, result: DispatchResult) -> None:
    _steps.finish(bc, job)
    _sent(job, result)


def _handle(
    bc: BC, job: Job, policy: DispatchPolicy, now: datetime, result: DispatchResult, step: Callable[[], None]
) -> None:
    """Run ``step``; on error let the operation recover, else record the verdict."""
    try:
        step()
    except LeaseLost:
        result.lost_lease += 1
    except Exception as error:
        try:
            if _steps.recover(bc, job, error):
                job.writing = False
                _complete(bc, job, result)
                return
        except LeaseLost:
            result.lost_lease += 1
            return
        except Exception as second:
            error = second
        _failed(job, error, policy, now, result)


def _process_direct(bc: BC, job: Job, policy: DispatchPolicy, now: datetime, result: DispatchResult) -> None:
    def step() -> None:
        write = _steps.plan(bc, job)
        if write is not None:
            job.fence()
            job.writing = True
            answer = _steps.send(bc, write)
            job.writing = False
            _steps.applied(bc, job, answer)
        job.writing = False
        _complete(bc, job, result)

    _handle(bc, job, policy, now, result, step)


def dispatch_due(
    limit: int | None = None,
    *,
    connection: Connection | None = None,
    batch: bool = False,
    now: datetime | None = None,
    policy: DispatchPolicy | None = None,
) -> DispatchResult:
    """Send the messages due now, once each; never raises for a message's failure.

    Args:
        limit: Most messages to claim (default 1,000).
        connection: Only this connection's messages.
        batch: Send the writes of many messages in ``$batch`` requests (up to 100 each).
        now: The current time (tests move it forward).
        policy: Lease, back-off and attempt budget.

    Returns:
        A :class:`DispatchResult`; failures are recorded on the messages.
    """
    from bcbridge.odata import MAX_BATCH
    from bcbridge.push.batch import process_batched

    policy = policy or DispatchPolicy()
    limit = limit or 1000
    start, started = now or timezone.now(), time.monotonic()

    def clock() -> datetime:  # ``now`` moved on by the real time spent (tests move ``now``)
        return start + timedelta(seconds=time.monotonic() - started)

    result = DispatchResult()
    facades: dict[int, BC | BaseException] = {}
    with contextlib.ExitStack() as stack:
        while result.claimed < limit:
            size = min(MAX_BATCH, limit - result.claimed) if batch else 1
            messages = claim(size, now=clock(), connection=connection, lease_seconds=policy.lease_seconds)
            if not messages:
                break
            result.claimed += len(messages)
            jobs = [_job(message, policy, clock) for message in messages]
            by_connection: dict[int, list[Job]] = {}
            for job in jobs:
                by_connection.setdefault(job.message.connection_id, []).append(job)
            for connection_id, group in by_connection.items():
                bc = facades.get(connection_id)
                if bc is None:
                    bc = facades[connection_id] = _open(stack, group[0].message.connection)
                if isinstance(bc, BaseException):  # e.g. undecryptable secret: every message waits
                    for job in group:
                        _failed(job, bc, policy, clock(), result)
                elif batch:
                    process_batched(bc, group, policy, clock(), result)
                else:
                    for job in group:
                        _process_direct(bc, job, policy, clock(), result)
    return result


def _job(message: OutboxMessage, policy: DispatchPolicy, clock: Callable[[], datetime]) -> Job:
    job = Job(message, message.attempt_id)
    job.fence = lambda: fence(job, policy.lease_seconds, clock())
    return job


def _open(stack: contextlib.ExitStack, connection: Connection) -> BC | BaseException:
    """The connection's facade for this run (closed with ``stack``), or the error opening it."""
    try:
        bc = stack.enter_context(BC(connection))
    except Exception as error:
        return error
    # The outbox does the waiting: a failed request goes back to the outbox with its
    # back-off instead of sleeping here while holding claimed messages.
    bc.client.retry = RetryPolicy(max_attempts=1)
    return bc


def drain(
    *,
    connection: Connection | None = None,
    batch: bool = False,
    limit: int = 1000,
    policy: DispatchPolicy | None = None,
) -> DispatchResult:
    """Dispatch until nothing is due now; retries scheduled for later stay for later.

    Terminates: a message is either finished, rescheduled, or (after ``max_attempts``)
    parked.
    """
    total = DispatchResult()
    while True:
        result = dispatch_due(limit, connection=connection, batch=batch, policy=policy)
        total += result
        if result.claimed == 0:
            return total
