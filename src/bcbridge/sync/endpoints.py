"""Import registry endpoints from BC's ``$metadata`` (web services and custom APIs)."""

from __future__ import annotations

import re

from django.db import transaction

from bcbridge.entities import BC
from bcbridge.models import ApiEndpoint, EndpointKind, HttpMethod
from bcbridge.odata import fetch_metadata

__all__ = ["import_endpoints"]

_ROUTE = re.compile(r"^(?P<publisher>[^/]+)/(?P<group>[^/]+)/(?P<version>[^/]+)$")


def _code(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]+", "_", p).strip("_").upper() for p in parts if p)


def import_endpoints(bc: BC, routes: list[str] | None = None) -> list[ApiEndpoint]:
    """Create endpoints for what BC publishes; existing codes are left as they are.

    * ``ODataV4/$metadata``: each entity set (a page or query web service) becomes a GET
      ``odata_v4`` endpoint ``WS_<SERVICE>``; each unbound action (a codeunit published as a
      web service, ``{Service}_{Action}``) a POST ``unbound_action`` endpoint (docs/bc/2-urls.md §2.3).
    * each custom API route ``publisher/group/version`` in ``routes``: each entity set becomes
      ``GET_<GROUP>_<SET>`` (docs/bc/2-urls.md §2.2).

    Returns:
        The endpoints created.

    Raises:
        BCAPIError, TransportError: ``$metadata`` could not be read.
        ValueError: a route is not ``publisher/group/version``.
    """
    planned: list[ApiEndpoint] = []
    metadata = fetch_metadata(bc.client, f"{bc.urls.odata_root}/$metadata")
    for name in metadata.entity_sets:
        planned.append(ApiEndpoint(
            connection=bc.connection, code=_code("WS", name), name=f"{name} (web service)",
            kind=EndpointKind.ODATA_V4, method=HttpMethod.GET, url_template=name,
        ))
    for action in metadata.actions:
        if action.binding is None:
            planned.append(ApiEndpoint(
                connection=bc.connection, code=_code(action.name), name=f"{action.name} (codeunit action)",
                kind=EndpointKind.UNBOUND_ACTION, method=HttpMethod.POST, url_template=action.name,
                description="Parameters: " + ", ".join(f"{k}: {v}" for k, v in action.parameters.items()),
            ))
    for route in routes or []:
        match = _ROUTE.match(route.strip("/"))
        if match is None:
            raise ValueError(f"custom API route {route!r}: use publisher/group/version, e.g. contoso/warehouse/v1.0")
        api = match.groupdict()
        for name in fetch_metadata(bc.client, bc.urls.metadata(**api)).entity_sets:
            if name == "companies":
                continue
            planned.append(ApiEndpoint(
                connection=bc.connection, code=_code("GET", api["group"], name), name=f"{name} ({route})",
                kind=EndpointKind.CUSTOM_API, method=HttpMethod.GET, url_template=name, **api,
            ))
    existing = set(ApiEndpoint.objects.filter(connection=bc.connection).values_list("code", flat=True))
    created = [e for e in planned if e.code not in existing]
    with transaction.atomic():
        ApiEndpoint.objects.bulk_create(created)
    return created
