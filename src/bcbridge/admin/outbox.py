"""The outbox in the admin: status, attempts, last error, "retry now" and "cancel"; the
external-id map and field mappings, editable."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from bcbridge.admin._display import badge
from bcbridge.entities.catalog import catalog
from bcbridge.models import ExternalIdMap, FieldMapping, OutboxMessage, OutboxStatus
from bcbridge.push import cancel, retry_now
from bcbridge.push.resend import send_again

__all__ = ["ExternalIdMapAdmin", "FieldMappingAdmin", "OutboxMessageAdmin"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "id",
        "status_badge",
        "operation",
        "target",
        "attempts",
        "next_attempt_at",
        "bc_number",
        "short_error",
    )
    list_filter = ("status", "operation", "connection", "outcome_unknown")
    search_fields = ("entity_set", "action", "bc_id", "bc_number", "dedupe_key", "last_error")
    date_hierarchy = "created_at"
    actions = ("send_again_selected", "retry_selected", "retry_selected_forget_unknown", "cancel_selected")
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages come from code (enqueue), in the caller's transaction

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="target")
    def target(self, obj: OutboxMessage) -> str:
        name = obj.action if obj.operation == "call" else obj.entity_set
        return f"{name}({obj.key})" if obj.key else name

    @admin.display(description="last error")
    def short_error(self, obj: OutboxMessage) -> str:
        text = " ".join(obj.last_error.split())
        return text if len(text) <= 80 else text[:79] + "…"

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: OutboxMessage) -> str:
        label = OutboxStatus(obj.status).label.capitalize()
        if obj.outcome_unknown and obj.status != OutboxStatus.SENT:
            label += " (outcome unknown)"
        return badge(obj.status, label)

    @admin.action(description="Send this record to BC again (now)")
    def send_again_selected(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        for message in queryset.select_related("connection")[:20]:
            result = send_again(message)
            level = {"sent": messages.SUCCESS, "refused": messages.WARNING}.get(result.outcome, messages.ERROR)
            self.message_user(request, str(result), level)

    @admin.action(description="Retry now")
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = retry_now(queryset)
        self.message_user(request, f"{count} message(s) due now.", messages.SUCCESS)

    @admin.action(description="Retry now (I checked: the earlier attempt is not in BC)")
    def retry_selected_forget_unknown(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = retry_now(queryset, forget_unknown=True)
        self.message_user(request, f"{count} message(s) due now, sent without looking for an earlier attempt.")

    @admin.action(description="Cancel")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = cancel(queryset)
        self.message_user(request, f"{count} message(s) cancelled (sent and in-flight ones are left alone).")


@admin.register(ExternalIdMap)
class ExternalIdMapAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("system", "external_id", "entity_set", "bc_id", "bc_number", "connection", "updated_at")
    list_filter = ("system", "entity_set", "connection")
    search_fields = ("external_id", "bc_id", "bc_number")


class FieldMappingForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = FieldMapping
        fields = (
            "connection",
            "target",
            "bc_field",
            "source_path",
            "constant",
            "transform",
            "max_length",
            "required",
            "enabled",
            "position",
        )

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        spec = catalog().get(data.get("target") or "")
        field = data.get("bc_field")
        if spec is not None and field:
            names = {f.name: f for f in spec.fields}
            if field not in names:
                self.add_error("bc_field", f"{spec.name} has no field {field!r}.")
            elif names[field].read_only:
                self.add_error("bc_field", f"{spec.name}.{field} is read-only in BC.")
        return data


@admin.register(FieldMapping)
class FieldMappingAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = FieldMappingForm
    list_display = ("target", "bc_field", "source_path", "constant", "transform", "required", "enabled", "connection")
    list_editable = ("enabled",)
    list_filter = ("target", "connection", "enabled")
    search_fields = ("target", "bc_field", "source_path")
