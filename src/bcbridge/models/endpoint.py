"""Endpoints of the registry (seed 000's ``api_details``, done properly) and the request log."""

from __future__ import annotations

from datetime import timedelta

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from bcbridge.models.connection import Connection

__all__ = ["ApiEndpoint", "EndpointKind", "HttpMethod", "RequestLog"]


class EndpointKind(models.TextChoices):
    """How an endpoint's relative URL is anchored (docs/bc/2-urls.md §2)."""

    API = "api", "API v2.0 (/api/v2.0/companies({company_id})/...)"
    CUSTOM_API = "custom_api", "Custom API (/api/{publisher}/{group}/{version}/companies({company_id})/...)"
    ODATA_V4 = "odata_v4", "OData v4 web service (/ODataV4/Company('name')/...)"
    UNBOUND_ACTION = "unbound_action", "Codeunit action (/ODataV4/{Service}_{Action}?company=...)"
    BOUND_ACTION = "bound_action", "Bound action (.../{set}({id})/Microsoft.NAV.{action})"


class HttpMethod(models.TextChoices):
    GET = "GET"
    POST = "POST"
    PATCH = "PATCH"
    DELETE = "DELETE"


class ApiEndpoint(models.Model):
    """A BC endpoint callable by code: ``bcbridge.connect("NAME").call("CODE", payload)``.

    ``url_template`` is relative to the kind's base (see :class:`EndpointKind`) and may hold
    ``{placeholders}`` filled from the payload and call arguments, each value URL-encoded;
    ``{company_id}`` and ``{company_name}`` are always available. A template that would
    resolve outside the connection's own BC environment is refused at call time.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="endpoints")
    code = models.CharField(
        max_length=80,
        validators=[RegexValidator(r"^[A-Za-z0-9_.-]+$", "Use letters, digits, '_', '.' and '-'.")],
        help_text="Identifier used by code, e.g. GET_WHSE_SHPT_LINES.",
    )
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, choices=EndpointKind.choices, default=EndpointKind.API)
    method = models.CharField(max_length=10, choices=HttpMethod.choices, default=HttpMethod.GET)
    url_template = models.CharField(
        "relative URL",
        max_length=1000,
        help_text="Relative to the kind's base, e.g. items?$filter=number eq '{number}' or "
        "GetNextSalesOrderNo for a codeunit action of service APICodeunits: APICodeunits_GetNextSalesOrderNo.",
    )
    publisher = models.CharField(max_length=80, blank=True, help_text="Custom APIs: APIPublisher.")
    group = models.CharField(max_length=80, blank=True, help_text="Custom APIs: APIGroup.")
    version = models.CharField(max_length=20, default="v2.0", help_text="API version (custom APIs: APIVersion).")
    company_scoped = models.BooleanField(
        default=True, help_text="API kinds: the URL lives under companies({company_id})."
    )
    default_query = models.JSONField(
        default=dict, blank=True, help_text='Query options sent on every call, e.g. {"$top": 50}.'
    )
    enabled = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["connection", "code"]
        verbose_name = "API endpoint"
        constraints = [models.UniqueConstraint(fields=["connection", "code"], name="bcbridge_endpoint_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} ({self.method} {self.url_template})"


class RequestLog(models.Model):
    """One HTTP attempt towards BC (no bodies, no secrets: the URL's secret values are redacted)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="requests", null=True)
    method = models.CharField(max_length=10)
    url = models.TextField()
    status = models.PositiveSmallIntegerField(null=True, help_text="None: no answer (transport error).")
    duration_ms = models.FloatField()
    request_bytes = models.PositiveIntegerField(default=0)
    response_bytes = models.PositiveIntegerField(default=0)
    request_id = models.CharField("client-request-id", max_length=64)
    attempt = models.PositiveSmallIntegerField(default=1)
    error = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["connection", "-created_at"], name="bcbridge_reqlog_conn_time")]

    def __str__(self) -> str:
        return f"{self.method} {self.status} {self.url}"

    @classmethod
    def prune(cls, days: int) -> int:
        """Delete rows older than ``days`` days; returns how many."""
        deleted, _ = cls.objects.filter(created_at__lt=timezone.now() - timedelta(days=days)).delete()
        return deleted
