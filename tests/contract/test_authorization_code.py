"""The authorization code flow against Entra's documented samples (docs/bc §1.2, §1.5).

The emulator's sign-in page is driven like a browser (``tests/signin.py``); the redirect it
ends with, the token answers and the errors are compared with the samples.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from ..signin import sign_in
from ._samples import assert_documented_shape, load

SAMPLE = load("token_authorization_code")
REDIRECT = SAMPLE["authorize"]["query"]["redirect_uri"]
VERIFIER = "ThisIsntRandomButItNeedsToBe43CharactersLong"  # the sample's verifier


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _authorize(bc_emulator: Any, http: httpx.Client, *, scope: str | None = None, action: str = "accept") -> str:
    query = dict(
        SAMPLE["authorize"]["query"], client_id=bc_emulator.config.client_id, code_challenge=_challenge(VERIFIER)
    )
    if scope is not None:
        query["scope"] = scope
    url = f"/{bc_emulator.config.tenant}/oauth2/v2.0/authorize?{urlencode(query)}"
    return sign_in(http, url, password=bc_emulator.config.demo_user_password, action=action)


def _redeem(bc_emulator: Any, http: httpx.Client, code: str, verifier: str = VERIFIER) -> httpx.Response:
    config = bc_emulator.config
    form = {
        "client_id": config.client_id,
        "scope": SAMPLE["authorize"]["query"]["scope"],
        "code": code,
        "redirect_uri": REDIRECT,
        "grant_type": "authorization_code",
        "code_verifier": verifier,
        "client_secret": config.client_secret,
    }
    assert list(form) == SAMPLE["redeem"]["form"]
    return http.post(f"/{config.tenant}/oauth2/v2.0/token", data=form)


def _code(location: str) -> str:
    query = parse_qs(urlsplit(location).query)
    return query["code"][0]


def _assert_invalid_grant(answer: httpx.Response, aadsts: int) -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"] == "invalid_grant"
    assert body["error_codes"] == [aadsts]
    assert body["error_description"].startswith(f"AADSTS{aadsts}: ")


def test_success_redirect_carries_code_and_state(bc_emulator: Any, bc_emulator_http: httpx.Client) -> None:
    location = _authorize(bc_emulator, bc_emulator_http)
    documented = urlsplit(SAMPLE["authorize"]["success_redirect"])
    got = urlsplit(location)
    assert location.startswith(REDIRECT)
    # The sample shows code and state; the same page adds other parameters in other modes (the
    # hybrid flow's id_token), so parameters beyond the documented ones are not ruled out.
    assert {"code", "state"} == set(parse_qs(documented.query)) <= set(parse_qs(got.query))
    assert parse_qs(got.query)["state"] == parse_qs(documented.query)["state"]


def test_cancel_redirects_with_access_denied(bc_emulator: Any, bc_emulator_http: httpx.Client) -> None:
    location = _authorize(bc_emulator, bc_emulator_http, action="cancel")
    documented = parse_qs(urlsplit(SAMPLE["authorize"]["error_redirect"]).query)
    got = parse_qs(urlsplit(location).query)
    assert location.startswith(REDIRECT)
    assert got["error"] == documented["error"] == ["access_denied"]
    assert got["error_description"][0]
    assert "code" not in got


def test_redeem_answers_the_documented_members(bc_emulator: Any, bc_emulator_http: httpx.Client) -> None:
    answer = _redeem(bc_emulator, bc_emulator_http, _code(_authorize(bc_emulator, bc_emulator_http)))
    assert answer.status_code == SAMPLE["redeem"]["status"], answer.text
    body = answer.json()
    assert_documented_shape(body, SAMPLE["redeem"]["body"], "token", ordered=False)
    assert body["token_type"] == "Bearer"


@pytest.mark.parametrize(
    ("scope", "absent"),
    [
        ("https://api.businesscentral.dynamics.com/.default openid profile", "refresh_token"),
        ("https://api.businesscentral.dynamics.com/.default offline_access", "id_token"),
    ],
)
def test_refresh_and_id_tokens_only_when_asked_for(
    bc_emulator: Any, bc_emulator_http: httpx.Client, scope: str, absent: str
) -> None:
    answer = _redeem(bc_emulator, bc_emulator_http, _code(_authorize(bc_emulator, bc_emulator_http, scope=scope)))
    assert answer.status_code == 200, answer.text
    assert absent not in answer.json()


def test_a_code_works_once(bc_emulator: Any, bc_emulator_http: httpx.Client) -> None:
    code = _code(_authorize(bc_emulator, bc_emulator_http))
    assert _redeem(bc_emulator, bc_emulator_http, code).status_code == 200
    _assert_invalid_grant(_redeem(bc_emulator, bc_emulator_http, code), SAMPLE["errors"]["code_reused"])


def test_the_verifier_must_match_the_challenge(bc_emulator: Any, bc_emulator_http: httpx.Client) -> None:
    code = _code(_authorize(bc_emulator, bc_emulator_http))
    wrong = "AnotherVerifierThatIsAlso43CharactersLong12"
    _assert_invalid_grant(
        _redeem(bc_emulator, bc_emulator_http, code, verifier=wrong), SAMPLE["errors"]["verifier_mismatch"]
    )


def test_refresh_returns_a_new_token_and_keeps_the_old_one(bc_emulator: Any, bc_emulator_http: httpx.Client) -> None:
    """'Refresh tokens aren't revoked when used to acquire new access tokens' (auth code flow page)."""
    first = _redeem(bc_emulator, bc_emulator_http, _code(_authorize(bc_emulator, bc_emulator_http))).json()
    config = bc_emulator.config

    def refresh(token: str) -> httpx.Response:
        return bc_emulator_http.post(
            f"/{config.tenant}/oauth2/v2.0/token",
            data={
                "client_id": config.client_id,
                "scope": SAMPLE["authorize"]["query"]["scope"],
                "refresh_token": token,
                "grant_type": "refresh_token",
                "client_secret": config.client_secret,
            },
        )

    renewed = refresh(first["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["refresh_token"] != first["refresh_token"]
    assert refresh(first["refresh_token"]).status_code == 200
