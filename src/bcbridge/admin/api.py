"""The REST API and events in the admin: "API clients" (keys shown once, prefix visible,
revoke), "Event subscriptions" (secret shown once), events with their deliveries, and the
delivery log with a "Resend" action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from bcbridge.events.delivery import resend
from bcbridge.models import (
    EVENT_TYPES,
    SCOPES,
    ApiClient,
    Event,
    EventAttempt,
    EventDelivery,
    EventSubscription,
)

__all__ = ["ApiClientAdmin", "EventAdmin", "EventDeliveryAdmin", "EventSubscriptionAdmin"]


class ApiClientForm(forms.ModelForm):  # type: ignore[type-arg]
    scopes = forms.MultipleChoiceField(choices=[(s, s) for s in SCOPES], widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiClient
        fields = ("name", "scopes", "company", "endpoints", "rate_limit", "rate_window", "revoked_at")


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ApiClientForm
    list_display = ("name", "prefix", "scope_list", "company", "rate_limit", "last_used_at", "state")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "last_used_at")
    actions = ["revoke", "rotate"]

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiClient) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description="state")
    def state(self, obj: ApiClient) -> str:
        return "revoked" if obj.revoked_at else "active"

    def save_model(self, request: HttpRequest, obj: ApiClient, form: Any, change: bool) -> None:
        if not change:
            key, obj.prefix, obj.key_hash = ApiClient.generate()
            super().save_model(request, obj, form, change)
            self.message_user(
                request,
                f"The key of {obj.name} is {key} . Copy it now: it is stored hashed and never shown again.",
                messages.WARNING,
            )
            return
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke the keys (they stop working at once)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} key(s) revoked.", messages.SUCCESS)

    @admin.action(description="Rotate the keys (new keys shown once; the old ones stop working)")
    def rotate(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        for client in queryset:
            self.message_user(request, f"New key of {client.name}: {client.rotate()} (shown once)", messages.WARNING)


class EventSubscriptionForm(forms.ModelForm):  # type: ignore[type-arg]
    url = forms.URLField(
        label="URL", max_length=1000, assume_scheme="https", help_text="Where events are POSTed (http or https)."
    )
    event_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None checked: every type.",
    )

    class Meta:
        model = EventSubscription
        fields = ("name", "url", "event_types", "company", "enabled", "disabled_reason")


@admin.register(EventSubscription)
class EventSubscriptionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = EventSubscriptionForm
    list_display = ("name", "url", "types", "company", "enabled", "disabled_reason")
    list_filter = ("enabled",)
    readonly_fields = ("secret_hint", "created_at")

    @admin.display(description="event types")
    def types(self, obj: EventSubscription) -> str:
        return ", ".join(obj.event_types) or "all"

    @admin.display(description="signing secret")
    def secret_hint(self, obj: EventSubscription) -> str:
        return f"whsec_…{obj.secret[-4:]}" if obj.secret else "generated on save"

    def save_model(self, request: HttpRequest, obj: EventSubscription, form: Any, change: bool) -> None:
        new = not obj.secret
        super().save_model(request, obj, form, change)
        if new:
            self.message_user(
                request,
                f"Signing secret of {obj.name}: {obj.secret} . Give it to the receiver now; it is not shown again.",
                messages.WARNING,
            )


class _ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EventDeliveryInline(admin.TabularInline):  # type: ignore[type-arg]
    model = EventDelivery
    fields = ("subscription", "status", "attempts", "last_status", "next_attempt_at", "delivered_at", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Event)
class EventAdmin(_ReadOnly):
    list_display = ("id", "type", "subject", "company", "created_at")
    list_filter = ("type",)
    search_fields = ("subject", "event_id")
    readonly_fields = ("event_id", "type", "connection", "company", "entity_set", "subject", "data", "created_at")
    inlines = [EventDeliveryInline]


class EventAttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = EventAttempt
    fields = ("started_at", "status", "duration_ms", "error", "response")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(EventDelivery)
class EventDeliveryAdmin(_ReadOnly):
    list_display = ("id", "event", "subscription", "status", "attempts", "last_status", "next_attempt_at")
    list_filter = ("status", "subscription")
    search_fields = ("subject",)
    readonly_fields = (
        "event",
        "subscription",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status",
        "last_error",
        "delivered_at",
        "created_at",
    )
    inlines = [EventAttemptInline]
    actions = ["resend_selected"]

    @admin.action(description="Resend (queue again from now; re-enables the subscription)")
    def resend_selected(self, request: HttpRequest, queryset: QuerySet[EventDelivery]) -> None:
        self.message_user(request, f"{resend(queryset)} delivery(ies) queued again.", messages.SUCCESS)
