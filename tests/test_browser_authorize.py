"""A real Chromium presses Authorize in the admin and signs in at the emulator (Playwright)."""

from __future__ import annotations

import pytest

from .browser import ARTIFACTS, authorize, log_in
from .conftest import make_connection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_authorize_button_turns_the_status_valid(live_server, bc_emulator_server, admin_user, browser_page):
    emulator = bc_emulator_server.emulator
    connection = make_connection(emulator, grant_type="authorization_code")
    page = browser_page
    log_in(page, live_server)
    authorize(page, live_server, bc_emulator_server, connection, sign_in_shot="emulator-sign-in.png")
    page.screenshot(path=str(ARTIFACTS / "connection-authorized.png"), full_page=True)
    connection.refresh_from_db()
    assert connection.token["refresh_token"]
    assert connection.companies.count() == len(emulator.bc.companies())
    first = connection.companies.order_by("name").first()
    assert page.get_by_text(first.display_name or first.name, exact=True).count() > 0
