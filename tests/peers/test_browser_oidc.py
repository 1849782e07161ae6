"""A real Chromium presses Authorize in the admin and signs in at oidc-provider's own login and
consent pages (Playwright driving Debian's Chromium)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import reverse

from bcbridge.models import Connection

from ..browser import ARTIFACTS, log_in

pytestmark = [pytest.mark.peer, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_authorize_in_the_browser_at_a_standard_openid_provider(
    live_server: Any, admin_user: Any, browser_page: Any, oidc_peer: Any, cap_peer: Any, peer_network: Any
) -> None:
    # RFC 8252 §7.3: the loopback client's redirect URI matches on any port, so the site is
    # reached as 127.0.0.1 (the live server's random port) for the whole test.
    site = SimpleNamespace(url=live_server.url.replace("localhost", "127.0.0.1"))
    client = oidc_peer.loopback
    connection = Connection.objects.create(
        name="browser", api_url=cap_peer.api_url, authority_url=oidc_peer.authority, tenant=oidc_peer.tenant,
        client_id=client.client_id, client_secret=client.client_secret, grant_type="authorization_code",
        prompt="consent", redirect_uri=f"{site.url}{reverse('bcbridge:oauth-callback')}",
    )  # fmt: skip
    page = browser_page
    log_in(page, site)
    page.goto(f"{site.url}{reverse('admin:bcbridge_connection_change', args=[connection.pk])}")
    with page.expect_popup() as popup_info:
        page.click("#bcbridge-authorize")
    popup = popup_info.value
    popup.wait_for_selector("input[name=login]")
    assert popup.url.startswith(oidc_peer.issuer)
    popup.fill("input[name=login]", "pat@cronus.test")
    popup.fill("input[name=password]", "any")
    popup.click("button[type=submit]")
    popup.wait_for_selector("button[type=submit]:has-text('Continue')")  # the consent page
    popup.screenshot(path=str(ARTIFACTS / "oidc-provider-consent.png"))
    with popup.expect_event("close"):
        popup.click("button[type=submit]")
    page.wait_for_selector('.bcbridge-status[data-status="valid"]')
    connection.refresh_from_db()
    assert connection.token["refresh_token"] and connection.authorized_by == "admin"
    assert connection.companies.count() >= 2
