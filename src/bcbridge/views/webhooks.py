"""The webhook receiver: ``/bcbridge/webhooks/<token>/``, one unguessable URL per connection.

BC's contract (docs/bc/6-webhooks.md §6.2, §6.4):

* **Handshake**: creating or renewing a subscription calls the notificationUrl with
  ``?validationToken=<token>`` (by POST per third parties; GET accepted too); the answer
  must be 200 with the token as plain text.
* **Notifications**: POST ``{"value": [{"subscriptionId", "clientState", "resource",
  "changeType", "lastModifiedDateTime", ...}]}``. Any 2xx is success; 408, 429 and 5xx make
  BC retry; **any other status makes BC delete the subscription** (so nothing here answers
  404 or 410).

**Authenticate first, store after.** The token must name a receiver, the body must be at
most ``WEBHOOK_MAX_BODY`` bytes (checked on ``Content-Length`` before reading), JSON of BC's
shape, and every notification's ``clientState`` must equal its subscription's secret
(``hmac.compare_digest``, constant time). A request that fails any check is answered 400 and
only **counted** (:class:`~bcbridge.models.WebhookRejection`, per day and reason), never
stored, so nobody can fill the database. A valid one is stored with each ``clientState``
removed, answered 202 and queued: :mod:`bcbridge.sync.notifications` processes it in a
worker; nothing here calls BC.

Lifecycle notifications (Microsoft Graph's shape, ``lifecycleEvent`` instead of
``changeType``; BC's documents are silent on them) are accepted like changes, so a
subscription is never deleted for answering one with 400.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from bcbridge.conf import get_settings
from bcbridge.models import WebhookDelivery, WebhookReceiver, WebhookSubscription, count_rejection
from bcbridge.sync.notifications import CHANGE_TYPES, LIFECYCLE_EVENTS, wake

__all__ = ["receive"]

_MAX_TOKEN = 1024  # a validationToken longer than this is not BC's
_HIDDEN_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
# compared against when a notification names no known subscription, so both paths take
# the same time
_DUMMY_SECRET = "x" * 43


class _Invalid(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _handshake(receiver: WebhookReceiver | None, token: str) -> HttpResponse:
    if receiver is None or not token or len(token) > _MAX_TOKEN:
        return HttpResponseBadRequest("unknown receiver or invalid validationToken", content_type="text/plain")
    return HttpResponse(token, status=200, content_type="text/plain; charset=utf-8")


def _store(request: HttpRequest, receiver: WebhookReceiver, items: list[dict[str, Any]]) -> WebhookDelivery:
    headers = {k: ("***" if k.lower() in _HIDDEN_HEADERS else v) for k, v in request.headers.items()}
    body = {"value": [{k: v for k, v in n.items() if k != "clientState"} for n in items]}
    with transaction.atomic():
        return WebhookDelivery.objects.create(
            connection_id=receiver.connection_id,
            received_at=timezone.now(),
            remote_addr=str(request.META.get("REMOTE_ADDR") or "")[:64],
            method=request.method or "",
            path=request.path.replace(receiver.token, receiver.token[:6] + "...")[:500],
            headers=headers,
            body=orjson.dumps(body).decode(),
            notifications=len(items),
        )


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return -1


def _parse(request: HttpRequest) -> list[dict[str, Any]]:
    """The notifications of a POST body of BC's shape. Raises _Invalid."""
    if request.method != "POST":
        raise _Invalid("method", f"method {request.method} (notifications are POSTed)")
    length = _content_length(request)
    if length < 0 or length > get_settings().WEBHOOK_MAX_BODY:
        raise _Invalid("too-large", f"Content-Length {length} is over WEBHOOK_MAX_BODY")
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        raise _Invalid("not-json", "the body is not JSON") from None
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(n, dict) for n in items):
        raise _Invalid("shape", 'the body is not {"value": [notification, ...]}')
    for n in items:
        if not isinstance(n.get("subscriptionId"), str) or not n["subscriptionId"]:
            raise _Invalid("shape", "a notification has no subscriptionId")
        if not isinstance(n.get("clientState", ""), str):
            raise _Invalid("shape", "clientState is not a string")
        if isinstance(n.get("lifecycleEvent"), str) and "changeType" not in n:
            if n["lifecycleEvent"] not in LIFECYCLE_EVENTS:
                raise _Invalid("shape", "unknown lifecycleEvent")
            continue
        for name in ("resource", "changeType"):
            if not isinstance(n.get(name), str) or not n[name]:
                raise _Invalid("shape", f"a notification has no {name}")
        if n["changeType"] not in CHANGE_TYPES:
            raise _Invalid("shape", "unknown changeType")
    return items


def _authenticate(receiver: WebhookReceiver, items: list[dict[str, Any]]) -> list[str]:
    """Every notification's clientState matches its subscription's; returns the ids."""
    ids = {n["subscriptionId"] for n in items}
    secrets = dict(
        WebhookSubscription.objects.filter(connection_id=receiver.connection_id, subscription_id__in=ids).values_list(
            "subscription_id", "client_state"
        )
    )
    forged = False
    for n in items:
        stored = secrets.get(n["subscriptionId"])  # decrypted by the field
        expected = stored if stored else _DUMMY_SECRET
        ok = hmac.compare_digest(expected.encode(), str(n.get("clientState", "")).encode())
        forged |= not ok or not stored
    if forged:
        raise _Invalid("client-state", "clientState does not match, or the subscriptionId is unknown")
    return sorted(ids)


@csrf_exempt
@transaction.non_atomic_requests
def receive(request: HttpRequest, token: str) -> HttpResponse:
    """The receiver view (module docstring): 200 handshake, 202 queued, 400 refused."""
    receiver = WebhookReceiver.objects.filter(token=token).first() if len(token) <= 64 else None
    validation = request.GET.get("validationToken")
    if validation is not None:
        return _handshake(receiver, validation)
    try:
        if receiver is None:
            raise _Invalid("unknown-token", "no receiver has this token")
        items = _parse(request)
        ids = _authenticate(receiver, items)
    except _Invalid as problem:
        count_rejection(problem.reason, str(request.META.get("REMOTE_ADDR") or ""))
        return HttpResponseBadRequest("invalid notification", content_type="text/plain")
    _store(request, receiver, items)
    WebhookSubscription.objects.filter(connection_id=receiver.connection_id, subscription_id__in=ids).update(
        last_notification_at=timezone.now()
    )
    transaction.on_commit(wake)
    return HttpResponse(status=202)
