"""Settings of one emulated BC online tenant and its Entra ID directory."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from typing import Any

from bcbridge.emulator.limits import Limits

__all__ = ["BC_SCOPE", "EmulatorConfig"]

#: The one scope BC accepts for both grants (docs/bc/0-quick-reference.md §0).
BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"


@dataclass
class EmulatorConfig:
    """Everything that makes one emulator instance differ from another.

    Attributes:
        tenant: Entra tenant id (GUID string). ``tenant_domains`` are accepted as aliases
            wherever BC or Entra accept a tenant (docs/bc/1-identity.md §1.1).
        tenant_domains: Verified domain names of the tenant, e.g. ``cronus.onmicrosoft.com``.
        environment: Environment name in BC URLs (case-insensitive, docs/bc/10-notes.md §10).
        client_id / client_secret: The one app registration the directory knows.
        redirect_uris: Registered redirect URIs; empty means any ``http(s)`` URI is accepted
            (convenient locally; real Entra requires an exact match).
        seed: Seed of the deterministic demo data.
        scale: Multiplies the demo data volume (``scale=1`` is a small demo company).
        access_token_lifetime: Seconds an access token lives (Entra: 60-90 min; ``expires_in``
            is 3599 in every sample, docs/bc/1-identity.md §1.4).
        auth_code_lifetime: Seconds an authorization code can be redeemed (about 10 min).
        refresh_token_lifetime: Seconds a refresh token lives (90 days).
        base_url: Where the emulator is reachable, e.g. ``http://127.0.0.1:8765``; used
            for absolute ``@odata.nextLink`` and token issuers. Set by the server.
        public_api_url / public_login_url: The origins the emulator publishes for BC
            (``@odata.context``, ``@odata.nextLink``, ``Location``) and for Entra
            (discovery, issuer); empty means ``base_url``. ``bcbridge emulator --tls`` sets
            them to ``https://api.businesscentral.dynamics.com`` and
            ``https://login.microsoftonline.com``, so clients that insist on BC's own
            https host names work unchanged (see :mod:`bcbridge.emulator.tls`).
        access_token_audience: ``aud`` of access tokens (docs/bc/1-identity.md §1.1: **UNVERIFIED**, most
            likely ``https://api.businesscentral.dynamics.com``); BC rejects other audiences.
        invalid_client_status: HTTP status of ``invalid_client`` token errors (wrong secret);
            Entra sends 401 "for some cases" (docs/bc/1-identity.md §1.5, **UNVERIFIED**), else 400.
        strict_refresh_token_rotation: When True a refresh token stops working once it has
            been redeemed. Entra does not do this (soft rotation, docs/bc/1-identity.md §1.2), so the
            default is False; True checks that a client always stores the newest token.
        public_client: When True the token endpoint accepts the authorization-code and
            refresh grants without a client secret (a "public client" registration).
        limits: Initial per-user operational limits (docs/bc/5-limits.md §5); changed at run time
            through ``PUT /_emulator/limits``.
        latency_ms / per_record_us: Simulated BC server time per request (milliseconds) and
            per record served (microseconds), spent inside one of the user's 5 processing
            slots; non-zero values override ``limits.latency_ms`` / ``limits.per_record_us``.
            0 serves at once; realistic figures (**UNVERIFIED**) are in
            ``docs/emulator-latency.md``.
        data_anchor: ISO date/datetime the demo timestamps are spread before (180 days);
            ``None`` means midnight UTC of the day the data is built.
        default_company: Company id or name used when a BC URL names none; ``None`` means
            the only company, else ``Internal_CompanyNotFound`` (docs/bc/2-urls.md §2.1).
        max_page_size: Server-driven page size limit (20,000 online, docs/bc/3-odata-queries.md §3/§5).
        top_above_limit_status: Status for ``$top`` above ``max_page_size`` (413 per the
            limits table, docs/bc/5-limits.md §5); ``0`` serves pages with ``@odata.nextLink`` instead.
        reject_or_across_fields: Reject ``or`` across distinct fields in ``$filter``
            (DOCS odata-known-limitations, docs/bc/3-odata-queries.md §3).
        etag_mismatch_status: Status of ``Request_EntityChanged`` for a stale ``If-Match``
            (409 per docs/bc/4-concurrency.md §4; 412 is the generic OData alternative).
        reject_read_only_writes: Reject writes to read-only fields with
            ``BadRequest_InvalidOperation`` (docs/bc/10-notes.md §10, UNVERIFIED for every field);
            False ignores them.
        put_status: Status answered to PUT on API entities (405; ``0`` treats PUT as PATCH,
            UNVERIFIED which BC does).
        require_line_document_filter: Top-level document-line GETs need an id or a
            ``documentId`` filter (AL ``APIV2SalesOrderLines.Page.al``, docs/bc/2-urls.md §2.1).
        batch_max_operations: Most operations in one ``$batch`` (100, operational limits);
            more -> 400 ``BadRequest``.
        batch_outer_company: ``?company=`` on ``POST $batch`` applies to relative inner URLs
            that name no company themselves (True; UNVERIFIED, the documents only show an
            inner ``Company`` header); False serves them without a company.
        batch_continue_on_error: Run the rest of a ``$batch`` after a failed request (True,
            UNVERIFIED for BC); False answers the rest with 424.
        extra_actions: Serve bound actions BC's API v2.0 lacks but the emulator offers
            (``salesOrders/Microsoft.NAV.ship``).
        codeunit_result_as_text: Codeunit web services return structured results as a JSON
            *string* in ``value`` (AL procedures return Text); False returns JSON arrays.
        subscription_lifetime: Seconds a webhook subscription lives after creation or renewal
            (3 days, docs/bc/6-webhooks.md §6.2).
        max_subscriptions: Webhook subscriptions per environment (200, operational limits).
        handshake_method / handshake_timeout: How the ``validationToken`` handshake calls the
            notificationUrl (POST per third parties; 5 s, docs/bc/6-webhooks.md §6.2).
        notification_delay: Seconds a notification window stays open after its first change
            (30 s, docs/bc/6-webhooks.md §6.4).
        max_notifications: Records changed in one window above which one ``collection``
            notification is sent instead (1,000).
        collection_filter_field: Field named in a ``collection`` notification's ``$filter``
            (BC's sample spells it ``lastDateTimeModified``).
        notification_retry_window: Seconds failed deliveries (408, 429, 5xx, no answer) are
            retried (36 h); ``notification_retry_first`` is the first delay, doubled per
            attempt up to ``notification_retry_max_interval``.
        delete_after_failed_retries: Delete the subscriptions of a delivery still failing
            after the retry window (UNVERIFIED; False just drops the notifications).
        notification_timeout: Seconds a notification POST may take.
        notification_transport: httpx transport for handshakes and notifications (tests
            mount a receiver in-process); ``None`` uses the network.
        webhook_delivery_interval: Seconds between background delivery passes while any
            subscription exists; 0 disables the thread (call ``deliver_due()`` instead).
    """

    tenant: str = "5b9b5d71-3f2a-4c7e-9a52-6d0e1c2f4a10"
    tenant_domains: tuple[str, ...] = ("cronus.onmicrosoft.com",)
    environment: str = "production"
    client_id: str = "7c6f2b1e-0d1a-4a52-9b7e-2e4a9d3c1f00"
    client_secret: str = "emulator-secret"
    redirect_uris: tuple[str, ...] = ()
    demo_user_email: str = "admin@cronus.onmicrosoft.com"
    demo_user_password: str = "demo"
    demo_user_name: str = "Annie Admin"
    seed: int = 1
    scale: float = 1.0
    access_token_lifetime: int = 3599
    auth_code_lifetime: int = 600
    refresh_token_lifetime: int = 90 * 24 * 3600
    base_url: str = "http://127.0.0.1:0"
    public_api_url: str = ""
    public_login_url: str = ""
    access_token_audience: str = "https://api.businesscentral.dynamics.com"
    invalid_client_status: int = 401
    strict_refresh_token_rotation: bool = False
    public_client: bool = False
    limits: Limits = field(default_factory=Limits)
    latency_ms: float = 0.0
    per_record_us: float = 0.0
    # -- Business Central data and API behaviour (bc/) --
    data_anchor: str | None = None
    default_company: str | None = None
    max_page_size: int = 20_000
    top_above_limit_status: int = 413
    reject_or_across_fields: bool = True
    etag_mismatch_status: int = 409
    reject_read_only_writes: bool = True
    put_status: int = 405
    require_line_document_filter: bool = True
    # -- $batch, bound actions, custom API and web services (bc/batch, actions, ...) --
    batch_max_operations: int = 100
    batch_continue_on_error: bool = True
    batch_outer_company: bool = True
    extra_actions: bool = True
    codeunit_result_as_text: bool = True
    # -- webhooks (bc/subscriptions.py, webhooks.py) --
    subscription_lifetime: int = 3 * 24 * 3600
    max_subscriptions: int = 200
    handshake_method: str = "POST"
    handshake_timeout: float = 5.0
    notification_delay: float = 30.0
    max_notifications: int = 1000
    collection_filter_field: str = "lastDateTimeModified"
    notification_retry_window: float = 36 * 3600
    notification_retry_first: float = 60.0
    notification_retry_max_interval: float = 4 * 3600
    delete_after_failed_retries: bool = True
    notification_timeout: float = 10.0
    notification_transport: Any = None
    webhook_delivery_interval: float = 1.0
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.latency_ms < 0 or self.per_record_us < 0:
            raise ValueError("latency_ms and per_record_us must be >= 0")
        changes = {}
        if self.latency_ms:
            changes["latency_ms"] = float(self.latency_ms)
        if self.per_record_us:
            changes["per_record_us"] = float(self.per_record_us)
        if changes:
            self.limits = dataclasses.replace(self.limits, **changes)

    @property
    def api_base_url(self) -> str:
        """Origin published for BC URLs, without a trailing slash."""
        return (self.public_api_url or self.base_url).rstrip("/")

    @property
    def login_base_url(self) -> str:
        """Origin published for Entra URLs (authority, endpoints, issuer), no trailing slash."""
        return (self.public_login_url or self.base_url).rstrip("/")

    @property
    def tenant_uuid(self) -> uuid.UUID:
        return uuid.UUID(self.tenant)

    def knows_tenant(self, value: str) -> bool:
        """True when ``value`` names this tenant by GUID or by one of its domains."""
        value = value.lower()
        return value == self.tenant.lower() or value in {d.lower() for d in self.tenant_domains}

    def replace(self, **changes: object) -> EmulatorConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
