"""OpenID discovery: where an authority's authorize and token endpoints are.

Entra publishes ``{authority}/{tenant}/v2.0/.well-known/openid-configuration``
(docs/bc/1-identity.md §1.1); reading it instead of hard-coding paths lets the same code reach Entra,
sovereign clouds, the emulator and any OpenID provider that serves the same path.

The endpoints bcbridge sends the client secret or tokens to (authorize, token, revocation,
introspection) must be on the authority's own scheme, host and port: a discovery document
that points elsewhere is refused rather than followed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

from bcbridge.exceptions import ConfigurationError, TransportError

__all__ = ["OpenIDConfiguration", "clear_cache", "discover", "discovery_url"]


@dataclass(frozen=True)
class OpenIDConfiguration:
    """The endpoints bcbridge uses from a discovery document (absolute URLs).

    ``revocation_endpoint`` (RFC 7009) and ``introspection_endpoint`` (RFC 7662) are ``""``
    when the provider publishes none; Entra ID publishes neither (docs/bc/1-identity.md §1.1).
    """

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    revocation_endpoint: str = ""
    introspection_endpoint: str = ""


_cache: dict[tuple[str, str], tuple[float, OpenIDConfiguration]] = {}
_cache_lock = threading.Lock()


def discovery_url(authority: str, tenant: str) -> str:
    """``{authority}/{tenant}/v2.0/.well-known/openid-configuration``."""
    return f"{authority.rstrip('/')}/{tenant.strip('/')}/v2.0/.well-known/openid-configuration"


def discover(
    authority: str,
    tenant: str,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 30.0,
    max_age: float = 3600.0,
) -> OpenIDConfiguration:
    """The authority's endpoints for ``tenant``, cached for ``max_age`` seconds.

    Raises:
        ConfigurationError: the authority answers but not with a discovery document for
            this tenant (wrong authority URL or unknown tenant; Entra AADSTS90002).
        TransportError: the authority cannot be reached.
    """
    key = (authority.rstrip("/"), tenant.lower())
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(key)
        if cached and now - cached[0] < max_age:
            return cached[1]
    url = discovery_url(authority, tenant)
    try:
        with httpx.Client(transport=transport, timeout=timeout) as client:
            response = client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise TransportError(f"Cannot reach the authority at {url}: {exc}") from exc
    try:
        document = response.json()
    except ValueError:
        document = {}
    if response.status_code != 200 or "token_endpoint" not in document:
        detail = document.get("error_description", "") if isinstance(document, dict) else ""
        raise ConfigurationError(
            f"No OpenID discovery document at {url} (HTTP {response.status_code}). "
            f"Check the connection's authority URL and tenant. {detail.splitlines()[0] if detail else ''}".strip()
        )
    _same_origin(
        url, document, ("authorization_endpoint", "token_endpoint", "revocation_endpoint", "introspection_endpoint")
    )
    config = OpenIDConfiguration(
        issuer=document.get("issuer", ""),
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document.get("jwks_uri", ""),
        revocation_endpoint=str(document.get("revocation_endpoint") or ""),
        introspection_endpoint=str(document.get("introspection_endpoint") or ""),
    )
    with _cache_lock:
        _cache[key] = (now, config)
    return config


def _same_origin(url: str, document: dict[str, object], names: tuple[str, ...]) -> None:
    origin = httpx.URL(url)
    for name in names:
        value = document.get(name)
        if not value:
            continue
        endpoint = httpx.URL(str(value))
        if (endpoint.scheme, endpoint.host, endpoint.port) != (origin.scheme, origin.host, origin.port):
            raise ConfigurationError(
                f"The discovery document at {url} puts {name} at {value}, outside the authority "
                f"{origin.scheme}://{origin.netloc.decode()}; refusing to send credentials there. If that "
                f"host is the identity provider, use it as the connection's authority URL."
            )


def clear_cache() -> None:
    """Forget every cached discovery document (tests, or after changing an authority)."""
    with _cache_lock:
        _cache.clear()
