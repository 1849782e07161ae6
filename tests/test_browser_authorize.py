"""A real Chromium presses Authorize in the admin and signs in at the emulator (Playwright)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse

from .conftest import make_connection

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page(monkeypatch):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: `make test` installs Debian's chromium first.")
        pytest.skip("Debian's chromium is not installed (make chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the test
    # makes between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        yield context.new_page()
        context.close()
        browser.close()


def test_authorize_button_turns_the_status_valid(live_server, bc_emulator_server, admin_user, browser_page):
    emulator = bc_emulator_server.emulator
    connection = make_connection(emulator, grant_type="authorization_code")
    page = browser_page
    page.goto(f"{live_server.url}{reverse('admin:login')}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}{reverse('admin:bcbridge_connection_change', args=[connection.pk])}")
    assert page.locator(".bcbridge-status").first.get_attribute("data-status") == "not_authorized"

    with page.expect_popup() as popup_info:
        page.click("#bcbridge-authorize")
    popup = popup_info.value
    popup.wait_for_selector("#password")
    assert popup.url.startswith(bc_emulator_server.url)
    popup.fill("#password", emulator.config.demo_user_password)
    ARTIFACTS.mkdir(exist_ok=True)
    popup.screenshot(path=str(ARTIFACTS / "emulator-sign-in.png"))
    with popup.expect_event("close"):
        popup.click("#accept")

    page.wait_for_selector('.bcbridge-status[data-status="valid"]')
    page.screenshot(path=str(ARTIFACTS / "connection-authorized.png"), full_page=True)
    connection.refresh_from_db()
    assert connection.token["refresh_token"]
    assert connection.companies.count() == len(emulator.bc.companies())
    first = connection.companies.order_by("name").first()
    assert page.get_by_text(first.display_name or first.name, exact=True).count() > 0
