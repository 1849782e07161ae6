"""Sending events to subscribers, signed with the Standard Webhooks scheme.

Each :class:`~bcbridge.models.EventDelivery` is POSTed to its subscription's URL with the
headers ``webhook-id`` (the event's id, the same on every retry), ``webhook-timestamp``
(Unix seconds) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` of
``id.timestamp.body`` with the subscription's secret), computed by the ``standardwebhooks``
library (https://www.standardwebhooks.com/, spec "Signature scheme"). Receivers verify with
the same library (``Webhook(secret).verify(body, headers)``).

Rules:

* a 2xx answer delivers; 410 Gone disables the subscription and cancels its pending
  deliveries (the spec's "disable the endpoint" advice); anything else (and no answer)
  is retried on :data:`RETRY_SCHEDULE` (Svix's published schedule, the authors of Standard
  Webhooks), which spans over 27 h,
  honouring a ``Retry-After`` of 429/503 up to an hour; after the last try it is ``failed``
  (the admin's "Resend" starts it again);
* per subscription and record (``subject``) deliveries go out in the order of their events:
  a delivery waits while an earlier one of the same record is still pending;
* deliveries are claimed a round at a time with a lease (one conditional ``UPDATE``), so
  several runners or Celery workers never send one twice at once; a round's outcomes are
  saved in one transaction. Delivery is at least once: a worker that dies between sending
  and saving leaves its round to be sent again when the lease ends, with the same
  ``webhook-id``, which receivers use to drop duplicates (Standard Webhooks advice).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from bcbridge.events.records import datetime_text
from bcbridge.models import Event, EventAttempt, EventDelivery, EventDeliveryStatus, EventSubscription

__all__ = ["RETRY_SCHEDULE", "DeliveryResult", "body_of", "deliver_due", "prune", "resend", "signed_headers"]

#: Seconds to wait before each retry (Svix's published schedule: immediately, 5 s, 5 min,
#: 30 min, 2 h, 5 h, 10 h, 10 h): 8 attempts over 27 h 35 min.
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)

#: Seconds a claimed round of deliveries stays ours, plus the request timeout for each of them.
LEASE = 60.0
TIMEOUT = 10.0
MAX_RETRY_AFTER = 3600.0


@dataclass
class DeliveryResult:
    """Counts of one :func:`deliver_due` run."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0
    disabled: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.delivered} delivered, {self.retried} retried, {self.failed} failed, {self.disabled} disabled"


def body_of(event: Event) -> bytes:
    """The JSON body sent for ``event``: ``{"type", "timestamp", "data"}``."""
    payload = {"type": event.type, "timestamp": datetime_text(event.created_at), "data": event.data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(secret: str, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def _first_pending(candidates: list[EventDelivery]) -> list[EventDelivery]:
    """Candidates that are the earliest pending delivery of their (subscription, subject)."""
    pairs = {(d.subscription_id, d.subject) for d in candidates}
    if not pairs:
        return []
    firsts = (
        EventDelivery.objects.filter(
            status=EventDeliveryStatus.PENDING,
            subscription_id__in={p[0] for p in pairs},
            subject__in={p[1] for p in pairs},
        )
        .values("subscription_id", "subject")
        .annotate(first=Min("id"))
    )
    first = {(row["subscription_id"], row["subject"]): row["first"] for row in firsts}
    return [d for d in candidates if first.get((d.subscription_id, d.subject)) == d.pk]


def _claim(deliveries: list[EventDelivery], now: datetime) -> list[EventDelivery]:
    """The deliveries this call now holds (one conditional ``UPDATE`` for all of them)."""
    if not deliveries:
        return []
    token = uuid.uuid4()
    EventDelivery.objects.filter(pk__in=[d.pk for d in deliveries], status=EventDeliveryStatus.PENDING).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    ).update(locked_until=now + timedelta(seconds=LEASE + TIMEOUT * len(deliveries)), claim=token)
    held = set(EventDelivery.objects.filter(claim=token).values_list("pk", flat=True))
    return [d for d in deliveries if d.pk in held]


def _retry_after(response: httpx.Response | None) -> float | None:
    if response is None or response.status_code not in (429, 503):
        return None
    try:
        return min(max(float(response.headers.get("retry-after", "")), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return None


def _send(client: httpx.Client, delivery: EventDelivery, now: datetime) -> tuple[httpx.Response | None, str, int]:
    event, subscription = delivery.event, delivery.subscription
    body = body_of(event)
    headers = {
        "content-type": "application/json",
        "user-agent": "bcbridge-events",
        **signed_headers(subscription.secret, f"msg_{event.event_id.hex}", body, now),
    }
    started = time.monotonic()
    try:
        response = client.post(subscription.url, content=body, headers=headers)
        return response, "", int((time.monotonic() - started) * 1000)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1000], int((time.monotonic() - started) * 1000)


_SAVED = ("attempts", "last_status", "locked_until", "status", "delivered_at", "last_error", "next_attempt_at")


def _outcome(
    delivery: EventDelivery,
    response: httpx.Response | None,
    error: str,
    ms: int,
    result: DeliveryResult,
    now: datetime,
) -> tuple[EventAttempt, str]:
    """Apply one answer to ``delivery`` in memory; returns the attempt to log and, for a 410,
    the reason its subscription is disabled (else ``""``)."""
    status = response.status_code if response is not None else None
    text = response.text[:500] if response is not None else ""
    attempt = EventAttempt(delivery=delivery, started_at=now, status=status, error=error, duration_ms=ms, response=text)
    delivery.attempts += 1
    delivery.last_status = status
    delivery.locked_until = None
    if status is not None and 200 <= status < 300:
        delivery.status = EventDeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.last_error = ""
        result.delivered += 1
        return attempt, ""
    if status == 410:
        reason = f"the subscriber answered 410 Gone at {datetime_text(now)}"
        delivery.status = EventDeliveryStatus.CANCELLED
        delivery.last_error = reason
        result.disabled += 1
        return attempt, reason
    delivery.last_error = error or f"HTTP {status}: {text[:200]}"
    retry = delivery.attempts - 1
    if retry < len(RETRY_SCHEDULE):
        wait = max(float(RETRY_SCHEDULE[retry]), _retry_after(response) or 0.0)
        delivery.next_attempt_at = now + timedelta(seconds=wait)
        result.retried += 1
    else:
        delivery.status = EventDeliveryStatus.FAILED
        delivery.last_error = f"gave up after {delivery.attempts} attempts: {delivery.last_error}"
        result.failed += 1
    result.errors.append(f"delivery {delivery.pk}: {delivery.last_error[:200]}")
    return attempt, ""


def _record(attempts: list[EventAttempt], done: list[EventDelivery], disabled: dict[int, str]) -> None:
    """Save one round's outcomes in one transaction (a crash before it re-sends them after the
    lease: delivery is at least once, and the webhook-id lets receivers drop duplicates)."""
    with transaction.atomic():
        EventAttempt.objects.bulk_create(attempts)
        EventDelivery.objects.bulk_update(done, list(_SAVED))
        for subscription_id, reason in disabled.items():
            EventSubscription.objects.filter(pk=subscription_id).update(enabled=False, disabled_reason=reason)
            EventDelivery.objects.filter(subscription_id=subscription_id, status=EventDeliveryStatus.PENDING).update(
                status=EventDeliveryStatus.CANCELLED, last_error=reason, locked_until=None
            )


def deliver_due(
    worker: str = "",
    *,
    limit: int = 200,
    rounds: int = 20,
    client: httpx.Client | None = None,
    now: Callable[[], datetime] = timezone.now,
) -> DeliveryResult:
    """Send due deliveries, earliest first, each record's in order.

    Args:
        worker: The runner's id (unused; the signature of a runner job).
        limit: Deliveries looked at per round.
        rounds: Rounds per call (each round sends the next delivery of each record).
        client: httpx client to send with (default: a new one, closed at the end).
        now: Clock (tests).

    Returns:
        Counts of delivered, retried, failed and disabled.
    """
    result = DeliveryResult()
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    try:
        for _ in range(rounds):
            moment = now()
            candidates = list(
                EventDelivery.objects.filter(
                    status=EventDeliveryStatus.PENDING, next_attempt_at__lte=moment, subscription__enabled=True
                )
                .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=moment))
                .select_related("event", "subscription")
                .order_by("id")[:limit]
            )
            ready = _claim(_first_pending(candidates), moment)
            if not ready:
                break
            attempts: list[EventAttempt] = []
            done: list[EventDelivery] = []
            disabled: dict[int, str] = {}  # subscriptions that answered 410 in this round
            for delivery in ready:
                if delivery.subscription_id in disabled:
                    continue  # cancelled with its subscription when the round is saved
                # signed with the real time: receivers reject timestamps over 5 minutes off
                response, error, ms = _send(http, delivery, timezone.now())
                attempt, gone = _outcome(delivery, response, error, ms, result, now())
                attempts.append(attempt)
                done.append(delivery)
                if gone:
                    disabled[delivery.subscription_id] = gone
            _record(attempts, done, disabled)
    finally:
        if own:
            http.close()
    return result


def resend(deliveries: Any) -> int:
    """Queue ``deliveries`` (a queryset or list) again from now, attempts reset; their
    subscriptions are re-enabled. Returns how many were queued."""
    ids = [d.pk for d in deliveries]
    subscriptions = set(EventDelivery.objects.filter(pk__in=ids).values_list("subscription_id", flat=True))
    EventSubscription.objects.filter(pk__in=subscriptions).update(enabled=True, disabled_reason="")
    return EventDelivery.objects.filter(pk__in=ids).update(
        status=EventDeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), locked_until=None
    )


def prune(days: int = 30) -> int:
    """Delete events older than ``days`` whose deliveries are all finished; returns the count."""
    cutoff = timezone.now() - timedelta(days=days)
    old = Event.objects.filter(created_at__lt=cutoff).exclude(deliveries__status=EventDeliveryStatus.PENDING)
    _, per_model = Event.objects.filter(pk__in=list(old.values_list("pk", flat=True)[:10000])).delete()
    return per_model.get(Event._meta.label, 0)
