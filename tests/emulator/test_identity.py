"""The emulated Entra ID over plain HTTP: discovery, JWKS, the sign-in page and the
authorization-code grant with PKCE, refresh-token rotation and revocation."""

from __future__ import annotations

import base64
import hashlib
import secrets
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from bcbridge.emulator import Emulator, EmulatorConfig
from bcbridge.emulator.config import BC_SCOPE
from bcbridge.emulator.pytest_plugin import bc_emulator, bc_emulator_config, bc_emulator_http

__all__ = ["bc_emulator", "bc_emulator_config", "bc_emulator_http"]

REDIRECT = "http://localhost:8000/bcbridge/oauth/callback"
DELEGATED_SCOPE = f"{BC_SCOPE} offline_access openid profile"


class _Form(HTMLParser):
    """Reads the sign-in page like a browser would: the form action, its inputs, ids."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.ids: dict[str, dict[str, str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if "id" in values:
            self.ids[values["id"]] = {"tag": tag, **values}
        if tag == "form":
            self.action = values.get("action", "")
        if tag == "input" and values.get("name"):
            self.fields[values["name"]] = values.get("value", "")


def pkce_pair(method: str = "S256") -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    if method == "plain":
        return verifier, verifier
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(config: EmulatorConfig, **params: str) -> str:
    values = {
        "client_id": config.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": DELEGATED_SCOPE,
        "state": "st-123",
        **params,
    }
    return f"/{config.tenant}/oauth2/v2.0/authorize?" + urlencode(
        {k: v for k, v in values.items() if v is not None}
    )


def submit(
    http: httpx.Client, url: str, *, password: str = "demo", action: str = "accept"
) -> httpx.Response:
    """GET the sign-in page, fill the password, press a button; returns the POST's answer."""
    page = http.get(url)
    assert page.status_code == 200, page.text
    form = _Form()
    form.feed(page.text)
    data = {**form.fields, "password": password, "action": action}
    return http.post(form.action, data=data)


def sign_in(http: httpx.Client, config: EmulatorConfig, **params: str) -> dict[str, list[str]]:
    """The query of the redirect after Accept."""
    answer = submit(http, authorize_url(config, **params))
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query)


def redeem(http: httpx.Client, config: EmulatorConfig, code: str, **extra: str) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "code": code,
        "redirect_uri": REDIRECT,
        "scope": DELEGATED_SCOPE,
        **extra,
    }
    return http.post(f"/{config.tenant}/oauth2/v2.0/token", data=data)


def refresh(http: httpx.Client, config: EmulatorConfig, refresh_token: str) -> httpx.Response:
    return http.post(
        f"/{config.tenant}/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "refresh_token": refresh_token,
            "scope": DELEGATED_SCOPE,
        },
    )


def delegated_tokens(http: httpx.Client, config: EmulatorConfig) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    query = sign_in(http, config, code_challenge=challenge, code_challenge_method="S256")
    answer = redeem(http, config, query["code"][0], code_verifier=verifier)
    assert answer.status_code == 200, answer.text
    return answer.json()


def aadsts(response: httpx.Response) -> int:
    return response.json()["error_codes"][0]


def test_discovery_by_guid_and_domain_alias_and_jwks_verify_a_token(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    config = bc_emulator.config
    by_guid = bc_emulator_http.get(f"/{config.tenant}/v2.0/.well-known/openid-configuration").json()
    by_domain = bc_emulator_http.get(
        "/cronus.onmicrosoft.com/v2.0/.well-known/openid-configuration"
    ).json()
    assert by_guid == by_domain
    base = f"http://bc.emulator.test/{config.tenant}"
    assert by_guid["issuer"] == f"{base}/v2.0"
    assert by_guid["authorization_endpoint"] == f"{base}/oauth2/v2.0/authorize"
    assert by_guid["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    assert by_guid["jwks_uri"] == f"{base}/discovery/v2.0/keys"
    assert by_guid["code_challenge_methods_supported"] == ["S256", "plain"]
    assert by_guid["token_endpoint_auth_methods_supported"] == [
        "client_secret_post",
        "client_secret_basic",
    ]
    assert by_guid["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"authorization_code", "refresh_token", "client_credentials"} <= set(
        by_guid["grant_types_supported"]
    )

    common = bc_emulator_http.get("/common/v2.0/.well-known/openid-configuration").json()
    assert common["issuer"] == "http://bc.emulator.test/{tenantid}/v2.0"

    jwks = bc_emulator_http.get(by_guid["jwks_uri"].removeprefix("http://bc.emulator.test")).json()
    tokens = delegated_tokens(bc_emulator_http, config)
    decoded = jwt.decode(tokens["access_token"], KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert decoded.header["kid"] == jwks["keys"][0]["kid"]
    claims = decoded.claims
    assert claims["aud"] == "https://api.businesscentral.dynamics.com"
    assert claims["iss"] == f"https://sts.windows.net/{config.tenant}/"
    assert claims["tid"] == config.tenant
    assert claims["appid"] == claims["azp"] == config.client_id
    assert claims["scp"] == "Financials.ReadWrite.All user_impersonation"
    assert claims["upn"] == config.demo_user_email
    assert claims["name"] == config.demo_user_name
    assert claims["exp"] - claims["iat"] == config.access_token_lifetime
    id_token = jwt.decode(tokens["id_token"], KeySet.import_key_set(jwks)).claims
    assert id_token["aud"] == config.client_id
    assert id_token["iss"] == by_guid["issuer"]
    assert id_token["oid"] == claims["oid"]


def test_unknown_tenant_gives_aadsts90002(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    discovery = bc_emulator_http.get(
        "/fabrikam.onmicrosoft.com/v2.0/.well-known/openid-configuration"
    )
    assert discovery.status_code == 400
    assert aadsts(discovery) == 90002
    token = bc_emulator_http.post(
        "/fabrikam.onmicrosoft.com/oauth2/v2.0/token", data={"grant_type": "client_credentials"}
    )
    assert token.status_code == 400
    assert token.json()["error"] == "invalid_request"
    assert token.json()["error_description"].startswith("AADSTS90002: ")
    page = bc_emulator_http.get(
        authorize_url(bc_emulator.config).replace(bc_emulator.config.tenant, "fabrikam.com")
    )
    assert page.status_code == 400
    assert "AADSTS90002" in page.text


def test_sign_in_page_has_the_fields_browser_tests_drive(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    page = bc_emulator_http.get(authorize_url(bc_emulator.config, login_hint=None))
    assert page.status_code == 200
    assert "Sign in to Microsoft (emulator)" in page.text
    form = _Form()
    form.feed(page.text)
    assert form.ids["email"]["value"] == "admin@cronus.onmicrosoft.com"
    assert form.ids["password"]["type"] == "password"
    assert form.ids["accept"] == {
        "tag": "button",
        "id": "accept",
        "name": "action",
        "value": "accept",
        "type": "submit",
    }
    assert form.ids["cancel"]["value"] == "cancel"
    assert form.action == f"/{bc_emulator.config.tenant}/oauth2/v2.0/authorize"
    assert form.fields["state"] == "st-123"
    assert form.fields["redirect_uri"] == REDIRECT
    assert "Financials.ReadWrite.All" in page.text
    assert "Maintain access to data you have given it access to" in page.text


def test_wrong_password_shows_the_page_again_with_an_error(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    answer = submit(bc_emulator_http, authorize_url(bc_emulator.config), password="wrong")
    assert answer.status_code == 200
    assert "Your account or password is incorrect" in answer.text
    assert 'id="password"' in answer.text


def test_cancel_redirects_with_access_denied(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    answer = submit(bc_emulator_http, authorize_url(bc_emulator.config), action="cancel")
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["error_description"][0].startswith("AADSTS65004")
    assert query["state"] == ["st-123"]


def test_authorize_errors_before_and_after_the_redirect_uri_is_trusted() -> None:
    config = EmulatorConfig(base_url="http://bc.emulator.test", redirect_uris=(REDIRECT,))
    emulator = Emulator(config)
    with httpx.Client(transport=emulator.transport(), base_url=config.base_url) as http:
        unknown_client = http.get(
            authorize_url(config, client_id="00000000-0000-0000-0000-000000000001")
        )
        assert unknown_client.status_code == 400
        assert "location" not in unknown_client.headers
        assert "AADSTS700016" in unknown_client.text
        unregistered = http.get(authorize_url(config, redirect_uri="https://evil.example/cb"))
        assert unregistered.status_code == 400
        assert "location" not in unregistered.headers
        assert "AADSTS50011" in unregistered.text
        no_response_type = http.get(authorize_url(config, response_type=None))
        assert no_response_type.status_code == 302
        query = parse_qs(urlsplit(no_response_type.headers["location"]).query)
        assert query["error"] == ["invalid_request"]
        assert query["state"] == ["st-123"]
        bad_scope = http.get(authorize_url(config, scope="https://graph.microsoft.com/User.Read"))
        assert parse_qs(urlsplit(bad_scope.headers["location"]).query)["error"] == ["invalid_scope"]


@pytest.mark.parametrize("method", ["S256", "plain"])
def test_authorization_code_with_pkce(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator, method: str
) -> None:
    config = bc_emulator.config
    verifier, challenge = pkce_pair(method)
    query = sign_in(
        bc_emulator_http, config, code_challenge=challenge, code_challenge_method=method
    )
    assert query["state"] == ["st-123"]
    answer = redeem(bc_emulator_http, config, query["code"][0], code_verifier=verifier)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == config.access_token_lifetime
    assert {"access_token", "refresh_token", "id_token", "scope", "ext_expires_in"} <= set(body)
    assert "https://api.businesscentral.dynamics.com/Financials.ReadWrite.All" in body["scope"]


def test_pkce_mismatch_or_missing_verifier_is_invalid_grant(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    config = bc_emulator.config
    _, challenge = pkce_pair()
    wrong = redeem(
        bc_emulator_http,
        config,
        sign_in(bc_emulator_http, config, code_challenge=challenge)["code"][0],
        code_verifier="x" * 50,
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert aadsts(wrong) == 501481
    missing = redeem(
        bc_emulator_http,
        config,
        sign_in(bc_emulator_http, config, code_challenge=challenge, code_challenge_method="S256")[
            "code"
        ][0],
    )
    assert aadsts(missing) == 501481


def test_code_is_single_use_and_expires(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    config = bc_emulator.config
    code = sign_in(bc_emulator_http, config)["code"][0]
    assert redeem(bc_emulator_http, config, code).status_code == 200
    again = redeem(bc_emulator_http, config, code)
    assert again.json()["error"] == "invalid_grant"
    assert aadsts(again) == 54005

    late = sign_in(bc_emulator_http, config)["code"][0]
    bc_emulator.clock.advance(config.auth_code_lifetime + 1)
    expired = redeem(bc_emulator_http, config, late)
    assert expired.json()["error"] == "invalid_grant"
    assert aadsts(expired) == 70008


def test_redeem_needs_the_same_redirect_uri(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    code = sign_in(bc_emulator_http, bc_emulator.config)["code"][0]
    answer = redeem(
        bc_emulator_http, bc_emulator.config, code, redirect_uri="http://localhost:9999/other"
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_form_post_response_mode_auto_submits(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    answer = submit(bc_emulator_http, authorize_url(bc_emulator.config, response_mode="form_post"))
    assert answer.status_code == 200
    form = _Form()
    form.feed(answer.text)
    assert form.action == REDIRECT
    assert form.fields["state"] == "st-123"
    assert redeem(bc_emulator_http, bc_emulator.config, form.fields["code"]).status_code == 200
    assert "submit()" in answer.text


def test_scopes_decide_refresh_and_id_tokens(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    code = sign_in(bc_emulator_http, bc_emulator.config, scope=BC_SCOPE)["code"][0]
    body = redeem(bc_emulator_http, bc_emulator.config, code, scope=BC_SCOPE).json()
    assert "access_token" in body
    assert "refresh_token" not in body
    assert "id_token" not in body


def test_refresh_returns_a_new_token_and_the_old_one_stays_valid(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    config = bc_emulator.config
    first = delegated_tokens(bc_emulator_http, config)["refresh_token"]
    second = refresh(bc_emulator_http, config, first).json()
    assert second["refresh_token"] != first
    assert second["access_token"]
    third = refresh(bc_emulator_http, config, second["refresh_token"]).json()
    assert third["refresh_token"] not in (first, second["refresh_token"])
    # Entra's soft rotation: the old refresh token is not revoked (docs/bc/1-identity.md §1.2)
    assert refresh(bc_emulator_http, config, first).status_code == 200


def test_strict_rotation_rejects_a_used_refresh_token() -> None:
    config = EmulatorConfig(base_url="http://bc.emulator.test", strict_refresh_token_rotation=True)
    emulator = Emulator(config)
    with httpx.Client(transport=emulator.transport(), base_url=config.base_url) as http:
        first = delegated_tokens(http, config)["refresh_token"]
        assert refresh(http, config, first).status_code == 200
        reused = refresh(http, config, first)
        assert reused.json()["error"] == "invalid_grant"
        assert aadsts(reused) == 70008


def test_revoked_and_expired_refresh_tokens_fail_with_70008(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    config = bc_emulator.config
    token = delegated_tokens(bc_emulator_http, config)["refresh_token"]
    revoked = bc_emulator_http.post(
        "/_emulator/identity/revoke", json={"user": config.demo_user_email}
    )
    assert revoked.json() == {"revoked": 1}
    answer = refresh(bc_emulator_http, config, token)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert aadsts(answer) == 70008

    fresh = delegated_tokens(bc_emulator_http, config)["refresh_token"]
    bc_emulator.clock.advance(config.refresh_token_lifetime + 1)
    assert aadsts(refresh(bc_emulator_http, config, fresh)) == 70008


def test_revoke_from_python_counts_live_tokens(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    delegated_tokens(bc_emulator_http, bc_emulator.config)
    delegated_tokens(bc_emulator_http, bc_emulator.config)
    assert bc_emulator.identity.revoke_refresh_tokens("someone@else.example") == 0
    assert bc_emulator.identity.revoke_refresh_tokens() == 2
    assert bc_emulator.identity.revoke_refresh_tokens() == 0


def test_public_client_redeems_without_a_secret() -> None:
    for public, expected in ((True, 200), (False, 401)):
        config = EmulatorConfig(base_url="http://bc.emulator.test", public_client=public)
        emulator = Emulator(config)
        with httpx.Client(transport=emulator.transport(), base_url=config.base_url) as http:
            verifier, challenge = pkce_pair()
            query = sign_in(http, config, code_challenge=challenge, code_challenge_method="S256")
            code = query["code"][0]
            answer = redeem(http, config, code, code_verifier=verifier, client_secret="")
            assert answer.status_code == expected, answer.text
            if not public:
                assert answer.json()["error"] == "invalid_client"


def test_prompt_none_needs_interaction(
    bc_emulator_http: httpx.Client, bc_emulator: Emulator
) -> None:
    answer = bc_emulator_http.get(authorize_url(bc_emulator.config, prompt="none"))
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["login_required"]
