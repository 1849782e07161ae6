"""Every BC URL, built in one place from (api_url, tenant, environment) and an endpoint kind.

Shapes (docs/bc/2-urls.md §2, https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/api-endpoint-structure):

``{root}`` is ``{api_url}/v2.0/{tenant}/{environment}``.

=================  ===========================================================================
kind               URL
=================  ===========================================================================
``api``            ``{root}/api/v2.0/companies({id})/{set}``
``custom_api``     ``{root}/api/{publisher}/{group}/{version}/companies({id})/{set}``
``odata_v4``       ``{root}/ODataV4/Company('{name}')/{Service}``
``unbound_action`` ``{root}/ODataV4/{Service}_{Action}?company={name}``
``bound_action``   ``{root}/api/v2.0/companies({id})/{set}({key})/Microsoft.NAV.{action}``
=================  ===========================================================================

A relative URL template (``companies({company_id})/items?$filter=number eq '{number}'``) is
filled from a dict with every value URL-encoded (and ``'`` doubled inside ``'...'``), then the
result is checked: it must stay on the connection's own API host and inside the environment
root. Anything else (``..``, ``%2e%2e``, ``//host``, ``http://other``, a backslash) raises
:class:`~bcbridge.exceptions.ConfigurationError`, because endpoint templates are edited in the
admin and ``@odata.nextLink`` values come from the network.
"""

from __future__ import annotations

import enum
import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from bcbridge.exceptions import ConfigurationError

__all__ = [
    "BCUrls",
    "EndpointKind",
    "check_under_root",
    "encode_query",
    "fill_template",
    "port_of",
    "quote_key",
    "quote_segment",
    "with_query",
]


class EndpointKind(enum.StrEnum):
    """How an endpoint's relative URL is anchored (DESIGN.md point 2)."""

    API = "api"
    CUSTOM_API = "custom_api"
    ODATA_V4 = "odata_v4"
    UNBOUND_ACTION = "unbound_action"
    BOUND_ACTION = "bound_action"


def quote_segment(value: Any) -> str:
    """Percent-encode one value for a path segment or query value (nothing is left safe)."""
    return quote(str(value), safe="")


def quote_key(value: Any) -> str:
    """An OData key inside parentheses: GUIDs bare, strings quoted with ``''`` escaping.

    BC keys of API entities are bare GUIDs (``items(fca5738a-...)``); page web services and
    subscriptions use quoted strings (docs/bc/2-urls.md §2.1, §2.3). Ints are bare.
    """
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bool):
        raise TypeError("a boolean is not a key")
    if isinstance(value, int):
        return str(value)
    text = str(value)
    try:
        return str(uuid.UUID(text)) if len(text) == 36 else _quoted(text)
    except ValueError:
        return _quoted(text)


def _quoted(text: str) -> str:
    return "'" + quote(text.replace("'", "''"), safe="") + "'"


def fill_template(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``{placeholders}`` of a relative URL template, URL-encoding each value.

    A placeholder written between single quotes (``'{name}'``) is an OData string literal:
    its ``'`` are doubled before encoding. ``{{`` and ``}}`` are literal braces.

    Args:
        template: E.g. ``companies({company_id})/items?$filter=number eq '{number}'``.
        values: Placeholder values; UUIDs, ints and strs are all rendered with ``str``.

    Raises:
        ConfigurationError: A placeholder has no value, or uses a format spec/conversion.
    """
    out: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigurationError(f"bad URL template {template!r}: {exc}") from exc
    for literal, name, spec, conversion in parsed:
        out.append(literal)
        if name is None:
            continue
        if spec or conversion:
            raise ConfigurationError(f"URL template {template!r}: use plain {{{name}}} placeholders")
        if name not in values:
            raise ConfigurationError(f"URL template {template!r} needs a value for {{{name}}}")
        text = str(values[name])
        if literal.endswith("'"):
            text = text.replace("'", "''")
        out.append(quote(text, safe=""))
    return "".join(out)


@dataclass(frozen=True)
class BCUrls:
    """The URLs of one BC environment.

    Args:
        api_url: Scheme and host, e.g. ``https://api.businesscentral.dynamics.com`` (or the
            emulator's ``http://127.0.0.1:8765``); a path is allowed (on-prem instance).
        tenant: Entra tenant GUID or domain; ``""`` leaves it out (BC then uses the token's).
        environment: Environment name (``production``, ``sandbox``, ...).

    Raises:
        ConfigurationError: ``api_url`` is not an absolute http(s) URL, or the environment
            is empty.
    """

    api_url: str
    tenant: str
    environment: str

    def __post_init__(self) -> None:
        parts = urlsplit(self.api_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigurationError(f"api_url must be an absolute http(s) URL, not {self.api_url!r}")
        if parts.query or parts.fragment:
            raise ConfigurationError(f"api_url must not have a query or fragment: {self.api_url!r}")
        if not self.environment:
            raise ConfigurationError("the connection's environment name is empty")
        object.__setattr__(self, "api_url", self.api_url.rstrip("/"))

    # -- roots ---------------------------------------------------------------------------
    @property
    def environment_root(self) -> str:
        """``{api}/v2.0/{tenant}/{environment}``: no URL may leave it."""
        tenant = f"/{quote_segment(self.tenant)}" if self.tenant else ""
        return f"{self.api_url}/v2.0{tenant}/{quote_segment(self.environment)}"

    def api_root(self, publisher: str | None = None, group: str | None = None, version: str = "v2.0") -> str:
        """``.../api/v2.0`` or, for a custom API, ``.../api/{publisher}/{group}/{version}``."""
        if publisher is None and group is None:
            return f"{self.environment_root}/api/{quote_segment(version)}"
        if not publisher or not group:
            raise ConfigurationError("a custom API needs both publisher and group")
        return f"{self.environment_root}/api/{quote_segment(publisher)}/{quote_segment(group)}/{quote_segment(version)}"

    @property
    def odata_root(self) -> str:
        """``.../ODataV4``: root of web services published from pages, queries, codeunits."""
        return f"{self.environment_root}/ODataV4"

    # -- API v2.0 and custom APIs --------------------------------------------------------
    def companies(self, **api: str) -> str:
        """``.../api/v2.0/companies`` (``api`` = publisher/group/version for custom APIs)."""
        return f"{self.api_root(**api)}/companies"

    def entity_set(self, company_id: str | uuid.UUID, entity_set: str, key: Any = None, **api: str) -> str:
        """``.../companies({company_id})/{entity_set}`` or ``...({key})`` for one record."""
        url = f"{self.api_root(**api)}/companies({quote_key(company_id)})/{quote_segment(entity_set)}"
        return url if key is None else f"{url}({quote_key(key)})"

    def bound_action(self, company_id: str | uuid.UUID, entity_set: str, key: Any, action: str, **api: str) -> str:
        """``.../{entity_set}({key})/Microsoft.NAV.{action}`` (POST, 204; docs/bc/2-urls.md §2.4)."""
        record = self.entity_set(company_id, entity_set, key, **api)
        return f"{record}/Microsoft.NAV.{quote_segment(action)}"

    def metadata(self, **api: str) -> str:
        """``.../api/v2.0/$metadata`` (EDMX, docs/bc/2-urls.md §2.5)."""
        return f"{self.api_root(**api)}/$metadata"

    def batch(self, **api: str) -> str:
        """``.../api/v2.0/$batch`` (JSON batch, docs/bc/2-urls.md §2.6)."""
        return f"{self.api_root(**api)}/$batch"

    def subscriptions(self, subscription_id: str | None = None, **api: str) -> str:
        """``.../api/v2.0/subscriptions`` or ``subscriptions('{id}')`` (a quoted string key)."""
        url = f"{self.api_root(**api)}/subscriptions"
        return url if subscription_id is None else f"{url}({_quoted(str(subscription_id))})"

    # -- OData v4 web services -----------------------------------------------------------
    def web_service(self, company_name: str, service: str, key: Any = None) -> str:
        """``.../ODataV4/Company('{name}')/{service}``, the name ``''``-escaped and encoded."""
        url = f"{self.odata_root}/Company({_quoted(company_name)})/{quote_segment(service)}"
        return url if key is None else f"{url}({quote_key(key)})"

    def unbound_action(self, service: str, action: str, company: str | uuid.UUID) -> str:
        """``.../ODataV4/{service}_{action}?company={name or id}`` (POST with named params)."""
        return f"{self.odata_root}/{quote_segment(service)}_{quote_segment(action)}?company={quote_segment(company)}"

    # -- endpoint templates --------------------------------------------------------------
    def base_for(
        self,
        kind: EndpointKind | str,
        *,
        company_id: str | uuid.UUID | None = None,
        company_name: str | None = None,
        publisher: str | None = None,
        group: str | None = None,
        version: str = "v2.0",
    ) -> str:
        """The URL an endpoint kind's relative template is appended to (ends with ``/``).

        ``api`` / ``bound_action``: the API root (``.../api/v2.0/``), or the company inside it
        when ``company_id`` is given. ``custom_api``: ``.../api/{publisher}/{group}/{version}/``
        (plus the company). ``odata_v4``: ``.../ODataV4/Company('{company_name}')/``.
        ``unbound_action``: ``.../ODataV4/`` (use :meth:`endpoint`, which adds ``?company=``).
        """
        kind = EndpointKind(kind)
        if kind is EndpointKind.ODATA_V4:
            if not company_name:
                raise ConfigurationError("an OData v4 web service endpoint needs the company name")
            return f"{self.odata_root}/Company({_quoted(company_name)})/"
        if kind is EndpointKind.UNBOUND_ACTION:
            return f"{self.odata_root}/"
        if kind is EndpointKind.CUSTOM_API:
            root = self.api_root(publisher, group, version)
        else:
            root = self.api_root(version=version)
        return f"{root}/companies({quote_key(company_id)})/" if company_id else f"{root}/"

    def endpoint(
        self,
        kind: EndpointKind | str,
        template: str,
        values: Mapping[str, Any] | None = None,
        **context: Any,
    ) -> str:
        """Resolve an endpoint's relative URL template to a checked absolute URL.

        Args:
            kind: An :class:`EndpointKind`.
            template: Relative URL with ``{placeholders}``; for ``unbound_action`` it is
                ``{Service}_{Action}`` and ``?company=`` is added from ``company_name`` or
                ``company_id``.
            values: Placeholder values (URL-encoded by :func:`fill_template`).
            **context: ``company_id``, ``company_name``, ``publisher``, ``group``, ``version``
                passed to :meth:`base_for`.

        Raises:
            ConfigurationError: Missing placeholder or context, or a URL that leaves the
                environment root (see :meth:`check`).
        """
        kind = EndpointKind(kind)
        relative = fill_template(template, values or {})
        if relative.startswith("//") or "://" in relative.split("?", 1)[0]:
            url = relative if "://" in relative else urlsplit(self.api_url).scheme + ":" + relative
            return self.check(url)
        url = self.base_for(kind, **context) + relative.lstrip("/")
        if kind is EndpointKind.UNBOUND_ACTION and "company=" not in relative:
            company = context.get("company_name") or context.get("company_id")
            if not company:
                raise ConfigurationError("an unbound action endpoint needs the company name or id")
            url += ("&" if "?" in url else "?") + f"company={quote_segment(company)}"
        return self.check(url)

    def check(self, url: str) -> str:
        """Return ``url`` if it is on this API host and inside the environment root.

        Raises:
            ConfigurationError: Another scheme, host or port; a path outside
                :attr:`environment_root`; ``..`` or ``.`` segments in any encoding; a
                backslash or a control character.
        """
        return check_under_root(url, self.environment_root)


def check_under_root(url: str, root_url: str) -> str:
    """Return ``url`` if it is on ``root_url``'s host and inside its path (the environment
    root ``{api_url}/v2.0/{tenant}/{environment}``): endpoint templates and
    ``@odata.nextLink`` must not reach another tenant or environment on the same host.

    Raises:
        ConfigurationError: Another scheme, host or port; a path outside ``root_url``;
            ``..`` or ``.`` segments in any encoding; a backslash or a control character;
            credentials in the URL.
    """
    root_url = root_url.rstrip("/")
    parts = urlsplit(url)
    root = urlsplit(root_url)
    if (parts.scheme.lower(), (parts.hostname or "").lower(), port_of(parts)) != (
        root.scheme.lower(),
        (root.hostname or "").lower(),
        port_of(root),
    ):
        raise ConfigurationError(f"refusing URL {url!r}: it leaves the connection's API host {root.netloc!r}")
    if parts.username or parts.password:
        raise ConfigurationError(f"refusing URL {url!r}: credentials in URLs are not allowed")
    path = parts.path
    decoded = path
    for _ in range(3):  # %252e%252e decodes twice
        decoded = unquote(decoded)
        segments = decoded.split("/")
        if "\\" in decoded or any(c < " " for c in decoded) or ".." in segments or "." in segments:
            raise ConfigurationError(f"refusing URL {url!r}: it tries to leave the environment root {root_url!r}")
    if not (path + "/").startswith(root.path + "/") or "//" in path:
        raise ConfigurationError(f"refusing URL {url!r}: it is outside the environment root {root_url!r}")
    return url


def port_of(parts: Any) -> int:
    """The port of a ``urlsplit`` result, defaulting to 80/443 by scheme.

    Raises:
        ConfigurationError: The port is not a number in range.
    """
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"bad port in URL {parts.geturl()!r}") from exc
    return port or (443 if parts.scheme.lower() == "https" else 80)


#: Characters left as they are in query values: OData syntax reads better unencoded and
#: BC decodes either form. Space, ``+``, ``&``, ``=``, ``#``, ``;`` and ``%`` are encoded.
_QUERY_SAFE = "$'(),*:@/!"


def encode_query(params: Mapping[str, Any]) -> str:
    """``$filter=a%20eq%20'x'&$top=5``: spaces as ``%20`` (never ``+``, which OData servers
    may read as a literal plus), ``$`` and OData punctuation kept; ``None`` values skipped,
    booleans as ``true``/``false``.
    """
    pairs = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        pairs.append(f"{quote(str(key), safe='$')}={quote(str(value), safe=_QUERY_SAFE)}")
    return "&".join(pairs)


def with_query(url: str, params: Mapping[str, Any] | None) -> str:
    """``url`` with ``params`` appended to its query (after any existing parameters)."""
    if not params:
        return url
    query = encode_query(params)
    if not query:
        return url
    return f"{url}{'&' if '?' in url else '?'}{query}"
