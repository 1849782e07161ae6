"""Endpoint registry in the admin: inline on the connection, a "Try it" page, the request log."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from bcbridge.entities import BC
from bcbridge.exceptions import BCAPIError, BCBridgeError
from bcbridge.models import ApiEndpoint, EndpointKind, RequestLog

__all__ = ["ApiEndpointAdmin", "ApiEndpointInline", "RequestLogAdmin"]


def _short_kind(label: str) -> str:
    """``"Custom API (/api/{publisher}/...)"`` -> ``"Custom API"`` (the URL shape is the help text)."""
    return str(label).split(" (", 1)[0]


class _CompactEndpointForm(forms.ModelForm):  # type: ignore[type-arg]
    """Narrow inputs and short kind names, so the connection's endpoint rows fit a 1,280 px
    window."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        kind.choices = [(value, _short_kind(label)) for value, label in kind.choices]  # type: ignore[attr-defined]
        kind.help_text = " · ".join(str(label) for _, label in EndpointKind.choices)

    class Meta:
        model = ApiEndpoint
        fields = ("code", "name", "kind", "method", "url_template", "publisher", "group", "version", "enabled")
        widgets = {
            "code": forms.TextInput(attrs={"size": 15}),
            "method": forms.Select(attrs={"style": "width: 5.5em"}),
            "kind": forms.Select(attrs={"style": "width: 9.5em"}),
            "name": forms.TextInput(attrs={"size": 10}),
            "url_template": forms.TextInput(attrs={"size": 21}),
            "publisher": forms.TextInput(attrs={"size": 6}),
            "group": forms.TextInput(attrs={"size": 6}),
            "version": forms.TextInput(attrs={"size": 4}),
        }


class ApiEndpointInline(admin.TabularInline):  # type: ignore[type-arg]
    """The connection's "API configuration" section: code, name, method, relative URL,
    enabled, and a "Try it" button."""

    model = ApiEndpoint
    form = _CompactEndpointForm
    extra = 0
    fields = ("code", "name", "kind", "method", "url_template", "publisher", "group", "version", "enabled", "try_it")
    readonly_fields = ("try_it",)
    verbose_name_plural = "API endpoints (callable as bc.call(code) and `bcbridge call CODE`)"

    @admin.display(description="")
    def try_it(self, obj: ApiEndpoint) -> str:
        if not obj.pk:
            return ""
        url = reverse("admin:bcbridge_apiendpoint_try", args=[obj.pk])
        return format_html('<a class="button" style="white-space:nowrap" href="{}">Try it</a>', url)


@admin.register(ApiEndpoint)
class ApiEndpointAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "name", "connection", "kind_short", "method", "short_template", "enabled")
    list_filter = ("connection", "kind", "method", "enabled")
    search_fields = ("code", "name", "url_template")

    @admin.display(description="kind", ordering="kind")
    def kind_short(self, obj: ApiEndpoint) -> str:
        return _short_kind(obj.get_kind_display())

    @admin.display(description="relative URL", ordering="url_template")
    def short_template(self, obj: ApiEndpoint) -> str:
        text = obj.url_template
        return text if len(text) <= 60 else text[:59] + "…"

    def get_urls(self) -> list[URLPattern]:
        return [
            path("<int:pk>/try/", self.admin_site.admin_view(self.try_view), name="bcbridge_apiendpoint_try"),
            *super().get_urls(),
        ]

    def try_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Call the endpoint with a JSON payload typed in the page and show BC's answer."""
        endpoint = get_object_or_404(ApiEndpoint.objects.select_related("connection"), pk=pk)
        if not self.has_view_permission(request, endpoint):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": f"Try {endpoint.code}",
            "endpoint": endpoint,
            "opts": self.model._meta,
            "payload": request.POST.get("payload", ""),
            "company": request.POST.get("company", ""),
            "companies": endpoint.connection.companies.filter(present=True),
        }
        if request.method == "POST":
            if not self.has_change_permission(request, endpoint):
                from django.core.exceptions import PermissionDenied

                raise PermissionDenied
            context.update(_try(endpoint, context["payload"], context["company"] or None))
        return TemplateResponse(request, "admin/bcbridge/apiendpoint/try.html", context)


def _try(endpoint: ApiEndpoint, payload_text: str, company: str | None) -> dict[str, Any]:
    try:
        payload = json.loads(payload_text) if payload_text.strip() else None
    except json.JSONDecodeError as exc:
        return {"error": f"The payload is not valid JSON: {exc}"}
    try:
        with BC(endpoint.connection) as bc:
            result = bc.call(endpoint.code, payload, company=company)
    except BCAPIError as exc:
        return {"error": str(exc), "status": exc.status}
    except BCBridgeError as exc:
        return {"error": str(exc)}
    return {"result": json.dumps(result, indent=2, ensure_ascii=False) if result is not None else "(204 No Content)"}


@admin.register(RequestLog)
class RequestLogAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("created_at", "connection", "method", "status", "duration_ms", "short_url")
    list_filter = ("connection", "method", "status")
    search_fields = ("url", "request_id")

    @admin.display(description="URL", ordering="url")
    def short_url(self, obj: RequestLog) -> str:
        """The URL without the API root (``.../api/v2.0/``), cut to fit the list."""
        url = obj.url
        for marker in ("/api/v2.0/", "/ODataV4/", "/api/"):
            if marker in url:
                url = "…" + marker + url.split(marker, 1)[1]
                break
        return url if len(url) <= 90 else url[:89] + "…"

    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
