"""OpenID discovery: endpoints from the authority's document, and only on the authority."""

from __future__ import annotations

import httpx
import pytest

from bcbridge.auth.discovery import clear_cache, discover
from bcbridge.exceptions import ConfigurationError

AUTHORITY = "https://login.example.test"
TENANT = "contoso.onmicrosoft.com"


def _serving(document: dict) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        # docs/bc/1-identity.md §1.1 / OpenID Discovery 1.0 §4: {issuer}/.well-known/openid-configuration
        assert str(request.url) == f"{AUTHORITY}/{TENANT}/v2.0/.well-known/openid-configuration"
        return httpx.Response(200, json=document)

    return httpx.MockTransport(handler)


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def test_endpoints_come_from_the_document_revocation_when_published():
    base = f"{AUTHORITY}/{TENANT}"
    config = discover(
        AUTHORITY,
        TENANT,
        transport=_serving({
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "revocation_endpoint": f"{base}/oauth2/v2.0/revoke",  # RFC 8414 §2
        }),
    )  # fmt: skip
    assert config.token_endpoint == f"{base}/oauth2/v2.0/token"
    assert config.revocation_endpoint == f"{base}/oauth2/v2.0/revoke"
    assert config.introspection_endpoint == ""


@pytest.mark.parametrize("name", ["token_endpoint", "authorization_endpoint", "revocation_endpoint"])
def test_an_endpoint_off_the_authority_is_refused(name):
    base = f"{AUTHORITY}/{TENANT}"
    document = {
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        name: "https://collector.example.net/token",
    }
    with pytest.raises(ConfigurationError, match=f"puts {name} at https://collector.example.net"):
        discover(AUTHORITY, TENANT, transport=_serving(document))
