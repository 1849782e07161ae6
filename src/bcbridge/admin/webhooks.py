"""Webhooks in the admin: subscriptions with their state, and every delivery as received,
with its status, error and a "Reprocess" action. Both are read-only records of what BC
and the receiver did; the actions call :mod:`bcbridge.sync.webhooks` and
:mod:`bcbridge.sync.notifications`."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from bcbridge.admin._display import badge
from bcbridge.exceptions import BCBridgeError
from bcbridge.models import DeliveryStatus, SubscriptionStatus, WebhookDelivery, WebhookRejection, WebhookSubscription
from bcbridge.sync.notifications import reprocess
from bcbridge.sync.webhooks import maintain, unsubscribe

__all__ = ["WebhookDeliveryAdmin", "WebhookRejectionAdmin", "WebhookSubscriptionAdmin"]


class _ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(_ReadOnly):
    list_display = (
        "entity_set",
        "company",
        "connection",
        "status_badge",
        "expiration_date_time",
        "last_notification_at",
        "short_error",
    )
    list_filter = ("status", "connection", "entity_set")
    search_fields = ("entity_set", "subscription_id", "resource")
    readonly_fields = [f.name for f in WebhookSubscription._meta.fields if f.name != "client_state"]
    actions = ["renew_now", "unsubscribe_selected"]

    @admin.display(description="error")
    def short_error(self, obj: WebhookSubscription) -> str:
        return obj.last_error[:80]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: WebhookSubscription) -> str:
        status = SubscriptionStatus(obj.status)
        return badge({"lost": "expired"}.get(status.value, status.value), status.label.split(" (")[0])

    @admin.action(description="Renew now (recreate what BC lost, then catch up)")
    def renew_now(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for connection in {s.connection for s in queryset.select_related("connection")}:
            try:
                report = maintain(connection, force_renew=True)
            except BCBridgeError as exc:
                self.message_user(request, f"{connection}: {exc}", messages.ERROR)
                continue
            summary = ", ".join(f"{a}: {report.count(a)}" for a in ("renewed", "created", "recreated", "failed"))
            self.message_user(request, f"{connection}: {summary}", messages.SUCCESS if report.ok else messages.WARNING)

    @admin.action(description="Unsubscribe (delete in BC; the sets go back to polling)")
    def unsubscribe_selected(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        by_connection: dict[Any, list[str]] = {}
        for sub in queryset.select_related("connection"):
            by_connection.setdefault(sub.connection, []).append(sub.entity_set)
        for connection, names in by_connection.items():
            report = unsubscribe(connection, names)
            done, failed = report.count("deleted"), report.count("failed")
            self.message_user(request, f"{connection}: {done} deleted, {failed} failed")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnly):
    list_display = (
        "received_at",
        "connection",
        "status_badge",
        "notifications",
        "attempts",
        "processed_at",
        "short_error",
    )
    list_filter = ("status", "connection")
    search_fields = ("body", "error", "remote_addr")
    date_hierarchy = "received_at"
    readonly_fields = (
        "connection",
        "received_at",
        "remote_addr",
        "method",
        "path",
        "pretty_headers",
        "pretty_body",
        "status",
        "error",
        "notifications",
        "attempts",
        "available_at",
        "processed_at",
    )
    exclude = ("headers", "body", "locked_by", "locked_until")
    actions = ["reprocess_selected"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # viewing the detail page needs no change; the action needs it (checked below)
        return False

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: WebhookDelivery) -> str:
        return badge(obj.status, DeliveryStatus(obj.status).label)

    @admin.display(description="error")
    def short_error(self, obj: WebhookDelivery) -> str:
        return obj.error[:80]

    @admin.display(description="headers")
    def pretty_headers(self, obj: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.headers, indent=2, sort_keys=True))

    @admin.display(description="body")
    def pretty_body(self, obj: WebhookDelivery) -> str:
        try:
            text = json.dumps(json.loads(obj.body), indent=2)
        except ValueError:
            text = obj.body
        return format_html("<pre>{}</pre>", text)

    @admin.action(description="Reprocess (queue again and process now)")
    def reprocess_selected(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        if not request.user.has_perm("bcbridge.change_webhookdelivery"):
            self.message_user(request, "You may not reprocess deliveries.", messages.ERROR)
            return
        skipped = queryset.filter(status="invalid").count()
        report = reprocess(queryset)
        self.message_user(
            request,
            f"{report.processed} processed, {report.retried} queued for retry, {report.failed} failed"
            + (f", {skipped} invalid skipped" if skipped else ""),
            messages.SUCCESS if not report.failed else messages.WARNING,
        )


@admin.register(WebhookRejection)
class WebhookRejectionAdmin(_ReadOnly):
    """Requests the receiver refused, counted per day and reason (their content is never
    stored): a rising ``unknown-token`` or ``client-state`` count is someone probing."""

    list_display = ("day", "reason", "count", "last_at", "last_remote_addr")
    list_filter = ("reason",)
    date_hierarchy = "day"
