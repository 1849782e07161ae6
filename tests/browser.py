"""Driving Debian's Chromium with Playwright: the page fixture and the admin steps the
browser tests share (log in; press Authorize and sign in at the emulator)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

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


def chromium_page(monkeypatch: Any) -> Iterator[Any]:
    """A fresh headless Chromium page (the ``browser_page`` fixture of ``conftest.py``)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: `make test` installs Debian's chromium first.")
        pytest.skip("Debian's chromium is not installed (make chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the test
    # makes between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        yield context.new_page()
        context.close()
        browser.close()


def log_in(page: Any, live_server: Any) -> None:
    """Log in to the admin as pytest-django's ``admin_user``."""
    page.goto(f"{live_server.url}{reverse('admin:login')}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")


def authorize(page: Any, live_server: Any, emulator_server: Any, connection: Any, *, sign_in_shot: str = "") -> None:
    """Open the connection, press Authorize, sign in at the emulator's page in the popup,
    and wait until the popup has closed and the status shows valid."""
    emulator = emulator_server.emulator
    page.goto(f"{live_server.url}{reverse('admin:bcbridge_connection_change', args=[connection.pk])}")
    assert page.locator(".bcbridge-status").first.get_attribute("data-status") == "not_authorized"
    with page.expect_popup() as popup_info:
        page.click("#bcbridge-authorize")
    popup = popup_info.value
    popup.wait_for_selector("#password")
    assert popup.url.startswith(emulator_server.url)
    popup.fill("#password", emulator.config.demo_user_password)
    if sign_in_shot:
        popup.screenshot(path=str(ARTIFACTS / sign_in_shot))
    with popup.expect_event("close"):
        popup.click("#accept")
    page.wait_for_selector('.bcbridge-status[data-status="valid"]')
