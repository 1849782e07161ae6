"""Calling a registry endpoint: look it up, resolve its URL safely, send, decode."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bcbridge.exceptions import ConfigurationError
from bcbridge.models import ApiEndpoint

if TYPE_CHECKING:
    import uuid

    from bcbridge.entities import BC

__all__ = ["call_endpoint", "endpoint_url", "find_endpoint"]


def find_endpoint(bc: BC, code: str) -> ApiEndpoint:
    """The enabled endpoint ``code`` of ``bc``'s connection.

    Raises:
        ConfigurationError: unknown or disabled, naming the codes that exist.
    """
    endpoint = ApiEndpoint.objects.filter(connection=bc.connection, code=code).first()
    if endpoint is None:
        known = ", ".join(ApiEndpoint.objects.filter(connection=bc.connection).values_list("code", flat=True))
        raise ConfigurationError(
            f"No endpoint {code!r} on connection {bc.connection.name!r} (known: {known or 'none'}). "
            "Add it in the admin or with `bcbridge endpoints add`."
        )
    if not endpoint.enabled:
        raise ConfigurationError(
            f"Endpoint {code!r} of connection {bc.connection.name!r} is disabled; enable it in the admin."
        )
    return endpoint


def endpoint_url(bc: BC, endpoint: ApiEndpoint, values: dict[str, Any], company: str | uuid.UUID | None) -> str:
    """The checked absolute URL of ``endpoint`` with ``values`` filled in."""
    context: dict[str, Any] = {}
    needs_company = endpoint.kind in {"odata_v4", "unbound_action"} or endpoint.company_scoped
    if needs_company:
        scope = bc.company(company)
        values = {"company_id": scope.company_id, "company_name": scope.name, **values}
        if endpoint.kind in {"odata_v4", "unbound_action"}:
            if not scope.name:
                raise ConfigurationError("Web service endpoints need the company's name: load companies first.")
            context["company_name"] = scope.name
        else:
            context["company_id"] = scope.company_id
    if endpoint.kind == "custom_api":
        context.update(publisher=endpoint.publisher, group=endpoint.group, version=endpoint.version)
    elif endpoint.kind in {"api", "bound_action"}:
        context["version"] = endpoint.version or "v2.0"
    return bc.urls.endpoint(endpoint.kind, endpoint.url_template, values, **context)


def call_endpoint(
    bc: BC,
    code: str,
    payload: Any,
    *,
    company: str | uuid.UUID | None,
    params: dict[str, Any] | None,
    etag: str | None,
    values: dict[str, Any],
) -> Any:
    endpoint = find_endpoint(bc, code)
    fill = {**(payload if isinstance(payload, dict) else {}), **values}
    url = endpoint_url(bc, endpoint, fill, company)
    query = {**(endpoint.default_query or {}), **(params or {})}
    method = endpoint.method
    if method == "GET":
        return bc.client.get_json(url, params=query or None)
    if method == "DELETE":
        bc.client.delete(url, _etag(etag, payload))
        return None
    if method == "PATCH":
        body = {k: v for k, v in (payload or {}).items() if not k.startswith("@odata.")}
        return bc.client.patch_json(url, body, _etag(etag, payload))
    return bc.client.post_json(url, payload if payload is not None else None)


def _etag(etag: str | None, payload: Any) -> str:
    value = etag or (payload.get("@odata.etag") if isinstance(payload, dict) else None)
    if not value:
        raise ConfigurationError("PATCH and DELETE need the record's ETag: pass etag=... (or '*' to overwrite).")
    return str(value)
