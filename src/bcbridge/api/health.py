"""``GET /health``: connections with their token status, sync states, webhook subscriptions,
outbox and event counts; from the database only (never calls BC). ``status`` is
``degraded`` when a connection's token needs authorization, a sync set's last attempt
failed, a webhook subscription failed, or an outbox message is parked."""

from __future__ import annotations

import time

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router

from bcbridge.api._paging import json_response
from bcbridge.api.auth import require
from bcbridge.api.problems import ProblemOut
from bcbridge.api.schemas import HealthOut
from bcbridge.events.records import datetime_text
from bcbridge.models import (
    Connection,
    EventDelivery,
    EventDeliveryStatus,
    SyncState,
    TokenStatus,
    WebhookSubscription,
)
from bcbridge.push import outbox_counts

__all__ = ["router"]

router = Router(tags=["health"])


@router.get(
    "/health",
    response={200: HealthOut, 304: None, 401: ProblemOut, 403: ProblemOut, 429: ProblemOut},
    operation_id="health",
    summary="Connections, sync states, webhook subscriptions, outbox and event counts",
)
def health(request: HttpRequest) -> HttpResponse:
    caller = require(request, "read")
    now = timezone.now()
    connections = Connection.objects.all()
    states = SyncState.objects.select_related("connection", "company").order_by("connection__name", "entity_set")
    hooks = WebhookSubscription.objects.select_related("connection", "company").order_by("entity_set")
    if caller.company is not None:
        connections = connections.filter(pk=caller.company.connection_id)
        states = states.filter(company=caller.company)
        hooks = hooks.filter(company=caller.company)
    degraded = False
    connection_rows = []
    for connection in connections:
        token = connection.current_token_status(time.time())
        degraded |= token == TokenStatus.NEEDS_AUTHORIZATION
        connection_rows.append(
            {
                "name": connection.name,
                "enabled": connection.enabled,
                "environment": connection.environment,
                "tokenStatus": token,
                "tokenExpiresAt": datetime_text(connection.token_expires_at),
                "statusReason": connection.status_reason,
            }
        )
    sync_rows = []
    for state in states:
        failing = bool(state.last_error)
        degraded |= failing
        sync_rows.append(
            {
                "connection": state.connection.name,
                "company": str(state.company.bc_id),
                "entitySet": state.entity_set,
                "api": state.api,
                "lastSuccessAt": datetime_text(state.last_success_at),
                "lastAttemptAt": datetime_text(state.last_attempt_at),
                "watermark": datetime_text(state.watermark),
                "watermarkAgeSeconds": round((now - state.watermark).total_seconds()) if state.watermark else None,
                "error": state.last_error or None,
            }
        )
    hook_rows = []
    for hook in hooks:
        degraded |= hook.status == "failed"
        hook_rows.append(
            {
                "connection": hook.connection.name,
                "company": str(hook.company.bc_id),
                "entitySet": hook.entity_set,
                "status": hook.status,
                "expirationDateTime": datetime_text(hook.expiration_date_time),
                "lastNotificationAt": datetime_text(hook.last_notification_at),
                "error": hook.last_error or None,
            }
        )
    outbox = outbox_counts(caller.company.connection if caller.company is not None else None)
    degraded |= outbox.get("parked", 0) > 0
    events = {status.value: 0 for status in EventDeliveryStatus}
    for row in EventDelivery.objects.values("status").annotate(n=Count("id")):
        events[row["status"]] = row["n"]
    return json_response(
        request,
        {
            "status": "degraded" if degraded else "ok",
            "connections": connection_rows,
            "sync": sync_rows,
            "webhooks": hook_rows,
            "outbox": outbox,
            "events": events,
        },
    )
