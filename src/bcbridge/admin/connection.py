"""Connection admin in the three sections of seed 000: integration, OAuth, companies."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from bcbridge import crypto
from bcbridge.admin.endpoint import ApiEndpointInline
from bcbridge.auth import TokenManager
from bcbridge.entities import BC
from bcbridge.exceptions import AuthorizationRequired, BCBridgeError, InvalidClientCredentials, TokenEndpointError
from bcbridge.models import Company, Connection, GrantType, TokenStatus
from bcbridge.sync.companies import load_companies
from bcbridge.views.oauth import start_authorization

__all__ = ["CompanyAdmin", "ConnectionAdmin"]

_STATUS_COLOURS = {
    TokenStatus.VALID: "#0a7a33",
    TokenStatus.EXPIRING: "#b26a00",
    TokenStatus.NEEDS_AUTHORIZATION: "#b00020",
    TokenStatus.CREDENTIALS_REJECTED: "#b00020",
    TokenStatus.NOT_AUTHORIZED: "#666",
}


def _https_by_default(field: models.Field, **kwargs: Any) -> forms.Field | None:  # type: ignore[type-arg]
    """BC and Entra are https: a scheme-less URL typed in the form means https."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


def _next_step(subject: Connection | TokenEndpointError) -> str:
    """What fixes a refused token: the secret (credentials rejected) or a new sign-in."""
    if isinstance(subject, InvalidClientCredentials) or getattr(subject, "token_status", "") == (
        TokenStatus.CREDENTIALS_REJECTED
    ):
        return "Fix the client id or secret of the connection (Authorize cannot help)."
    if isinstance(subject, AuthorizationRequired) or getattr(subject, "token_status", "") == (
        TokenStatus.NEEDS_AUTHORIZATION
    ):
        return "Press Authorize to sign in again."
    return ""


class ConnectionForm(forms.ModelForm):  # type: ignore[type-arg]
    client_secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted. Leave blank to keep the current secret.",
    )

    class Meta:
        model = Connection
        formfield_callback = _https_by_default
        fields = (
            "name",
            "enabled",
            "api_url",
            "authority_url",
            "tenant",
            "environment",
            "client_id",
            "client_secret",
            "client_auth_method",
            "grant_type",
            "redirect_uri",
            "prompt",
            "scopes",
        )

    def clean_client_secret(self) -> str:
        value: str = self.cleaned_data.get("client_secret", "")
        if not value and self.instance.pk:
            return self.instance.client_secret  # keep the stored one
        return value

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("grant_type") == GrantType.CLIENT_CREDENTIALS and not data.get("client_secret"):
            self.add_error("client_secret", "The client credentials grant needs the app's client secret.")
        return data


class CompanyInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Company
    extra = 0
    can_delete = False
    fields = ("display_name", "name", "bc_id", "selected", "present", "loaded_at")
    readonly_fields = ("display_name", "name", "bc_id", "present", "loaded_at")
    verbose_name_plural = "Companies (load them from BC, then select the ones to use)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ConnectionForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # BC and Entra are https
    inlines = [ApiEndpointInline, CompanyInline]
    list_display = ("name", "environment", "tenant", "grant_type", "status_badge", "token_expires_at", "enabled")
    list_filter = ("grant_type", "token_status", "enabled")
    search_fields = ("name", "tenant", "environment")
    actions = ["test_connections"]
    readonly_fields = ("oauth_panel", "secret_display", "token_details", "callback_hint")
    fieldsets = (
        (
            "Integration information",
            {
                "fields": (
                    "name",
                    "enabled",
                    "api_url",
                    "authority_url",
                    "tenant",
                    "environment",
                    "client_id",
                    "secret_display",
                    "client_secret",
                    "client_auth_method",
                    "grant_type",
                    "redirect_uri",
                    "callback_hint",
                    "prompt",
                    "scopes",
                )
            },
        ),
        ("OAuth 2.0", {"fields": ("oauth_panel", "token_details")}),
    )

    class Media:
        js = ("bcbridge/connection.js",)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """GUIDs (tenant, client id: 36 characters) shown whole, not cut by the default width."""
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name in ("tenant", "client_id", "environment"):
            field.widget.attrs.setdefault("size", 40)
        return field

    # -- display ------------------------------------------------------------------------

    @admin.display(description="token")
    def status_badge(self, obj: Connection) -> str:
        status = obj.current_token_status()
        return format_html(
            '<strong class="bcbridge-status" data-status="{}" style="color:{}">● {}</strong>',
            status,
            _STATUS_COLOURS[TokenStatus(status)],
            TokenStatus(status).label,
        )

    @admin.display(description="current client secret")
    def secret_display(self, obj: Connection) -> str:
        return crypto.mask(obj.client_secret) if obj.pk and obj.client_secret else "—"

    @admin.display(description="callback URL to register")
    def callback_hint(self, obj: Connection) -> str:
        if obj.redirect_uri:
            return obj.redirect_uri
        return format_html(
            "This site's <code>{}</code> (register it as a Web redirect URI of the app).",
            reverse("bcbridge:oauth-callback"),
        )

    @admin.display(description="status")
    def oauth_panel(self, obj: Connection) -> str:
        if not obj.pk:
            return "Save the connection first."
        buttons = [
            format_html(
                '<button type="button" class="button" id="bcbridge-authorize" data-bcbridge-authorize '
                'data-url="{}">Authorize</button>',
                reverse("admin:bcbridge_connection_authorize", args=[obj.pk]),
            )
            if obj.grant_type == GrantType.AUTHORIZATION_CODE
            else format_html(
                '<button type="submit" class="button" id="bcbridge-acquire" formaction="{}" formnovalidate>'
                "Get token</button>",
                reverse("admin:bcbridge_connection_acquire", args=[obj.pk]),
            ),
            format_html(
                '<button type="submit" class="button" id="bcbridge-deauthorize" formaction="{}" formnovalidate>'
                "Deauthorize</button>",
                reverse("admin:bcbridge_connection_deauthorize", args=[obj.pk]),
            ),
            format_html(
                '<button type="submit" class="button" id="bcbridge-load-companies" formaction="{}" formnovalidate>'
                "Load companies</button>",
                reverse("admin:bcbridge_connection_load_companies", args=[obj.pk]),
            ),
            format_html(
                '<button type="submit" class="button" id="bcbridge-test" formaction="{}" formnovalidate>'
                "Test connection</button>",
                reverse("admin:bcbridge_connection_test", args=[obj.pk]),
            ),
        ]
        return format_html(
            "{}<p>{}</p>", self.status_badge(obj), format_html(" ".join(["{}"] * len(buttons)), *buttons)
        )

    @admin.display(description="token")
    def token_details(self, obj: Connection) -> str:
        if not obj.pk:
            return "—"
        rows = [
            (
                "expires",
                obj.token_expires_at and timezone.localtime(obj.token_expires_at).strftime("%Y-%m-%d %H:%M:%S %Z"),
            ),
            (
                "last refreshed",
                obj.token_refreshed_at and timezone.localtime(obj.token_refreshed_at).strftime("%Y-%m-%d %H:%M:%S %Z"),
            ),
            ("authorized by", obj.authorized_by),
            ("refresh token", "stored (encrypted)" if obj.token and obj.token.get("refresh_token") else "none"),
            ("identity provider error", obj.status_error),
            ("reason", obj.status_reason),
            ("what to do", _next_step(obj)),
        ]
        return format_html(
            "<table>{}</table>",
            format_html(
                "".join(["<tr><th>{}</th><td>{}</td></tr>"] * len(rows)),
                *[v for row in rows for v in (row[0], row[1] or "—")],
            ),
        )

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return super().get_inline_instances(request, obj) if obj is not None else []

    # -- buttons ------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/authorize/", wrap(self.authorize_view), name="bcbridge_connection_authorize"),
            path("<int:pk>/acquire/", wrap(require_POST(self.acquire_view)), name="bcbridge_connection_acquire"),
            path(
                "<int:pk>/deauthorize/",
                wrap(require_POST(self.deauthorize_view)),
                name="bcbridge_connection_deauthorize",
            ),
            path(
                "<int:pk>/load-companies/",
                wrap(require_POST(self.load_companies_view)),
                name="bcbridge_connection_load_companies",
            ),
            path("<int:pk>/test/", wrap(require_POST(self.test_view)), name="bcbridge_connection_test"),
            *super().get_urls(),
        ]

    def _object(self, request: HttpRequest, pk: int) -> Connection:
        connection = get_object_or_404(Connection, pk=pk)
        if not self.has_change_permission(request, connection):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        return connection

    def _back(self, connection: Connection) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:bcbridge_connection_change", args=[connection.pk]))

    def authorize_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        connection = self._object(request, pk)
        try:
            return start_authorization(request, connection)
        except BCBridgeError as exc:
            self.message_user(request, f"Cannot start the sign-in: {exc}", messages.ERROR)
            return self._back(connection)

    def acquire_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        connection = self._object(request, pk)
        with BC(connection) as bc:
            try:
                bc.tokens.acquire()  # always asks the identity provider, never the stored token
            except TokenEndpointError as exc:
                self.message_user(request, f"No token: {exc}. {_next_step(exc)}", messages.ERROR)
                return self._back(connection)
            except BCBridgeError as exc:
                self.message_user(request, f"Token request failed: {exc}", messages.ERROR)
                return self._back(connection)
            try:
                load_companies(connection, bc)
            except BCBridgeError as exc:
                self.message_user(
                    request, f"Token acquired, but loading companies from BC failed: {exc}", messages.WARNING
                )
            else:
                self.message_user(request, "Token acquired and companies loaded.", messages.SUCCESS)
        return self._back(connection)

    def deauthorize_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        connection = self._object(request, pk)
        try:
            revocation = TokenManager(connection).deauthorize(f"Deauthorized in the admin by {request.user}.")
        except BCBridgeError as exc:
            self.message_user(
                request,
                f"Tokens forgotten, but the identity provider could not be asked to revoke them: {exc}",
                messages.WARNING,
            )
        else:
            level = messages.SUCCESS if revocation.revoked or not revocation.endpoint else messages.WARNING
            self.message_user(request, f"Deauthorized. {revocation.detail}", level)
        return self._back(connection)

    def load_companies_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        connection = self._object(request, pk)
        try:
            companies = load_companies(connection)
        except BCBridgeError as exc:
            self.message_user(request, f"Loading companies failed: {exc}", messages.ERROR)
        else:
            self.message_user(request, f"{len(companies)} companies loaded.", messages.SUCCESS)
        return self._back(connection)

    def test_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        connection = self._object(request, pk)
        self._test(request, connection)
        return self._back(connection)

    def _test(self, request: HttpRequest, connection: Connection) -> None:
        try:
            with BC(connection) as bc:
                count = len(bc.companies())
        except BCBridgeError as exc:
            self.message_user(request, f"{connection.name}: failed: {exc}", messages.ERROR)
        else:
            self.message_user(request, f"{connection.name}: OK, {count} companies visible.", messages.SUCCESS)

    @admin.action(description="Test connection")
    def test_connections(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        for connection in queryset:
            self._test(request, connection)


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("display_name", "name", "connection", "bc_id", "selected", "present", "loaded_at")
    list_filter = ("connection", "selected", "present")
    list_editable = ("selected",)
    search_fields = ("name", "display_name", "bc_id")
    readonly_fields = (
        "connection",
        "bc_id",
        "name",
        "display_name",
        "business_profile_id",
        "system_version",
        "present",
        "raw",
        "loaded_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
