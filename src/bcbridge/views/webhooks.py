"""The webhook receiver: ``/bcbridge/webhooks/<token>/``, one unguessable URL per connection.

BC's contract (API-FACTS §6.2, §6.4):

* **Handshake**: creating or renewing a subscription calls the notificationUrl with
  ``?validationToken=<token>`` (by POST per third parties; GET accepted too); the answer
  must be 200 with the token as plain text.
* **Notifications**: POST ``{"value": [{"subscriptionId", "clientState", "resource",
  "changeType", "lastModifiedDateTime", ...}]}``. Any 2xx is success; 408, 429 and 5xx make
  BC retry; **any other status makes BC delete the subscription** (so nothing here answers
  404 or 410).

Every POST is stored raw first (headers, body, remote address) in its own transaction,
then checked: the token must name a connection, the body must be BC's shape, and every
notification's ``clientState`` must equal its subscription's secret (``hmac.compare_digest``,
constant time). A malformed or forged request stays stored as ``invalid`` and is answered
400. A valid one is answered 202 and queued: :mod:`bcbridge.sync.notifications` processes it
in a worker; nothing here calls BC.
"""

from __future__ import annotations

import hmac

import orjson
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from bcbridge.models import DeliveryStatus, WebhookDelivery, WebhookReceiver, WebhookSubscription
from bcbridge.sync.notifications import CHANGE_TYPES, wake

__all__ = ["receive"]

_MAX_TOKEN = 1024  # a validationToken longer than this is not BC's
_HIDDEN_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
# compared against when a notification names no known subscription, so both paths take
# the same time
_DUMMY_SECRET = "x" * 43


class _Invalid(Exception):
    pass


def _handshake(receiver: WebhookReceiver | None, token: str) -> HttpResponse:
    if receiver is None or not token or len(token) > _MAX_TOKEN:
        return HttpResponseBadRequest("unknown receiver or invalid validationToken", content_type="text/plain")
    return HttpResponse(token, status=200, content_type="text/plain; charset=utf-8")


def _store(request: HttpRequest, receiver: WebhookReceiver | None, token: str) -> WebhookDelivery:
    headers = {k: ("***" if k.lower() in _HIDDEN_HEADERS else v) for k, v in request.headers.items()}
    path = request.path.replace(token, token[:6] + "...") if token else request.path
    with transaction.atomic():
        return WebhookDelivery.objects.create(
            connection_id=receiver.connection_id if receiver else None,
            received_at=timezone.now(),
            remote_addr=str(request.META.get("REMOTE_ADDR") or "")[:64],
            method=request.method or "",
            path=path[:500],
            headers=headers,
            body=request.body.decode("utf-8", errors="replace"),
        )


def _validate(receiver: WebhookReceiver | None, request: HttpRequest) -> tuple[list[str], int]:
    """Checks of the module docstring; returns the subscription ids and the number of
    notifications. Raises _Invalid."""
    if receiver is None:
        raise _Invalid("unknown receiver token")
    if request.method != "POST":
        raise _Invalid(f"method {request.method} (notifications are POSTed)")
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError as exc:
        raise _Invalid(f"the body is not JSON: {exc}") from None
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(n, dict) for n in items):
        raise _Invalid('the body is not {"value": [notification, ...]}')
    for n in items:
        for name in ("subscriptionId", "resource", "changeType"):
            if not isinstance(n.get(name), str) or not n[name]:
                raise _Invalid(f"a notification has no {name}")
        if n["changeType"] not in CHANGE_TYPES:
            raise _Invalid(f"unknown changeType {n['changeType'][:40]!r}")
        if not isinstance(n.get("clientState", ""), str):
            raise _Invalid("clientState is not a string")
    ids = {n["subscriptionId"] for n in items}
    secrets = dict(WebhookSubscription.objects.filter(
        connection_id=receiver.connection_id, subscription_id__in=ids).values_list("subscription_id", "client_state"))
    forged = False
    for n in items:
        stored = secrets.get(n["subscriptionId"])  # decrypted by the field
        expected = stored if stored is not None else _DUMMY_SECRET
        ok = hmac.compare_digest(expected.encode(), str(n.get("clientState", "")).encode())
        forged |= not ok or stored is None
    if forged:
        raise _Invalid("clientState does not match, or the subscriptionId is unknown")
    return sorted(ids), len(items)


@csrf_exempt
@transaction.non_atomic_requests
def receive(request: HttpRequest, token: str) -> HttpResponse:
    """The receiver view (module docstring): 200 handshake, 202 queued, 400 invalid."""
    receiver = WebhookReceiver.objects.filter(token=token).first() if len(token) <= 64 else None
    validation = request.GET.get("validationToken")
    if validation is not None:
        return _handshake(receiver, validation)
    delivery = _store(request, receiver, token)
    try:
        ids, count = _validate(receiver, request)
    except _Invalid as problem:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.INVALID, error=str(problem))
        return HttpResponseBadRequest("invalid notification", content_type="text/plain")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(notifications=count)
    assert receiver is not None  # _validate refuses an unknown token
    WebhookSubscription.objects.filter(connection_id=receiver.connection_id, subscription_id__in=ids).update(
        last_notification_at=timezone.now())
    transaction.on_commit(wake)
    return HttpResponse(status=202)
