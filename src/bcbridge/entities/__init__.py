"""The BC facade of one connection: its HTTP client, tokens, entity sets and endpoints.

``bcbridge.connect("NAME")`` returns a :class:`BC`. Everything that talks to BC (sync,
push, the admin's buttons, the CLI) goes through one, so one connection has one httpx
client (keep-alive), one token manager and one rate limiter::

    bc = bcbridge.connect("contoso")
    for item in bc.items.list(filter=F("inventory") > 0, select=["number", "displayName"]):
        ...
    bc.company("CRONUS US").salesOrders.action(order_id, "shipAndInvoice")
    bc.call("GET_WHSE_SHPT_LINES", {"shipment_no": "WS-1001"})
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from bcbridge.auth import BCAuth, TokenManager
from bcbridge.conf import get_settings, get_transport
from bcbridge.entities._calls import call_endpoint
from bcbridge.entities._limiter import limiter_for
from bcbridge.entities.catalog import catalog
from bcbridge.entities.sets import EntitySetClient
from bcbridge.exceptions import ConfigurationError
from bcbridge.http import BCClient, BCUrls, RequestRecord
from bcbridge.models import Company, Connection, RequestLog

__all__ = ["BC", "CompanyScope", "EntitySetClient"]


class CompanyScope:
    """The entity sets of one company: ``scope.items``, ``scope.entity_set("carBrands", ...)``."""

    def __init__(self, bc: BC, company_id: str, name: str = "") -> None:
        self.bc = bc
        self.company_id = company_id
        self.name = name

    def entity_set(self, name: str, **api: str) -> EntitySetClient:
        """Any entity set, including a custom API's (``publisher=, group=, version=``)."""
        return EntitySetClient(self.bc, self.company_id, name, **api)

    def __getattr__(self, name: str) -> EntitySetClient:
        if name in catalog():
            return self.entity_set(name)
        raise AttributeError(
            f"{name!r} is not an API v2.0 entity set; use .entity_set({name!r}, publisher=..., group=...)"
        )


class BC:
    """One connection's access to BC.

    Args:
        connection: A saved :class:`~bcbridge.models.Connection`.
        transport: httpx transport (default: the ``HTTP_TRANSPORT`` setting, else network).

    Attribute access by entity-set name (``bc.items``) uses the default company: the
    only selected company, else the only company. Use :meth:`company` otherwise.
    """

    def __init__(self, connection: Connection, *, transport: httpx.BaseTransport | None = None) -> None:
        self.connection = connection
        settings = get_settings()
        transport = transport if transport is not None else get_transport(connection)
        self.urls = BCUrls(connection.api_url, connection.tenant, connection.environment)
        self.tokens = TokenManager(connection, transport=transport)
        self.client = BCClient(
            self.urls.environment_root + "/",
            BCAuth(self.tokens),
            transport=transport,
            timeout=settings.HTTP_TIMEOUT,
            limiter=limiter_for(connection),
            on_request=self._log if settings.REQUEST_LOG else None,
        )

    @classmethod
    def for_connection(cls, name: str) -> BC:
        """The facade of the connection called ``name``.

        Raises:
            ConfigurationError: no such connection, or it is disabled.
        """
        connection = Connection.objects.filter(name=name).first()
        if connection is None:
            names = ", ".join(Connection.objects.values_list("name", flat=True)) or "none yet"
            raise ConfigurationError(
                f"No connection named {name!r} (known: {names}). Create it with `bcbridge connect`."
            )
        if not connection.enabled:
            raise ConfigurationError(f"Connection {name!r} is disabled; enable it in the admin.")
        return cls(connection)

    # -- companies ------------------------------------------------------------------------

    def companies(self) -> list[dict[str, Any]]:
        """``GET companies``: the environment's companies as BC returns them (docs/bc/2-urls.md §2.7)."""
        payload = self.client.get_json(self.urls.companies())
        return list(payload.get("value", []))

    def company(self, id_or_name: str | uuid.UUID | None = None) -> CompanyScope:
        """A company by id, name or display name (loaded into the database), or the default.

        Raises:
            ConfigurationError: no such company, or no default (several and none selected).
        """
        companies = list(self.connection.companies.filter(present=True))
        if id_or_name is None:
            selected = [c for c in companies if c.selected]
            chosen = selected if len(selected) == 1 else companies if len(companies) == 1 else []
            if not chosen:
                raise ConfigurationError(
                    f"Connection {self.connection.name!r} has {len(companies)} companies and "
                    f"{len(selected)} selected: pass the company (id or name), or select exactly one."
                )
            return self._scope(chosen[0])
        wanted = str(id_or_name).lower()
        for company in companies:
            if wanted in {str(company.bc_id), company.name.lower(), company.display_name.lower()}:
                return self._scope(company)
        if isinstance(id_or_name, uuid.UUID) or _is_uuid(wanted):
            return CompanyScope(self, wanted)
        raise ConfigurationError(
            f"No company {id_or_name!r} on connection {self.connection.name!r}; load companies first "
            f"(known: {', '.join(c.name for c in companies) or 'none'})."
        )

    def _scope(self, company: Company) -> CompanyScope:
        return CompanyScope(self, str(company.bc_id), company.name)

    def __getattr__(self, name: str) -> EntitySetClient:
        if name in catalog():
            return getattr(self.company(), name)  # type: ignore[no-any-return]
        raise AttributeError(name)

    # -- endpoints --------------------------------------------------------------------------

    def call(
        self,
        code: str,
        payload: Any = None,
        *,
        company: str | uuid.UUID | None = None,
        params: dict[str, Any] | None = None,
        etag: str | None = None,
        **values: Any,
    ) -> Any:
        """Call the registry endpoint ``code`` of this connection (DESIGN.md point 2).

        Args:
            code: :class:`~bcbridge.models.ApiEndpoint` code.
            payload: JSON body for POST/PATCH; for GET, a dict also fills placeholders.
            company: Company id or name (default: :meth:`company`'s default).
            params: Extra query options, merged over the endpoint's ``default_query``.
            etag: ``If-Match`` for PATCH/DELETE (default ``payload["@odata.etag"]``).
            **values: Placeholder values for the URL template.

        Returns:
            The decoded JSON answer, or ``None`` for 204.

        Raises:
            ConfigurationError: unknown or disabled code, a missing placeholder, or a URL
                that would leave the connection's BC environment.
            BCAPIError: BC's answer (status, code, message, request id).
        """
        return call_endpoint(self, code, payload, company=company, params=params, etag=etag, values=values)

    # -- plumbing ---------------------------------------------------------------------------

    def _log(self, record: RequestRecord) -> None:
        RequestLog.objects.create(
            connection_id=self.connection.pk,
            method=record.method,
            url=record.url[:4000],
            status=record.status,
            duration_ms=record.duration_ms,
            request_bytes=record.request_bytes,
            response_bytes=record.response_bytes,
            request_id=record.request_id,
            attempt=record.attempt,
            error=record.error[:120],
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> BC:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
