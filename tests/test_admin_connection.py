"""The Connection admin: the three sections, masked secret, buttons and actions."""

from __future__ import annotations

from django.urls import reverse

from bcbridge.models import Connection


def _management_forms(*prefixes):
    return {
        f"{prefix}-{field}": value
        for prefix in prefixes
        for field, value in (
            ("TOTAL_FORMS", "0"),
            ("INITIAL_FORMS", "0"),
            ("MIN_NUM_FORMS", "0"),
            ("MAX_NUM_FORMS", "1000"),
        )
    }


def test_change_page_shows_sections_and_masks_the_secret(admin_client, connection):
    response = admin_client.get(reverse("admin:bcbridge_connection_change", args=[connection.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("Integration information", "OAuth 2.0", "Companies", "Deauthorize", "Test connection"):
        assert text in html
    assert connection.client_secret not in html
    assert "••••" in html


def test_saving_without_a_secret_keeps_the_stored_one(admin_client, connection, bc_emulator):
    url = reverse("admin:bcbridge_connection_change", args=[connection.pk])
    data = {
        "name": connection.name,
        "enabled": "on",
        "api_url": connection.api_url,
        "authority_url": connection.authority_url,
        "tenant": connection.tenant,
        "environment": "sandbox",
        "client_id": connection.client_id,
        "client_secret": "",
        "client_auth_method": "client_secret_post",
        "grant_type": "client_credentials",
        "redirect_uri": "",
        "prompt": "select_account",
        "scopes": "",
        **_management_forms("companies", "endpoints"),
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    connection.refresh_from_db()
    assert connection.environment == "sandbox"
    assert connection.client_secret == bc_emulator.config.client_secret


def test_client_credentials_without_secret_is_refused(admin_client, db):
    response = admin_client.post(
        reverse("admin:bcbridge_connection_add"),
        {
            "name": "x",
            "enabled": "on",
            "api_url": "https://api.businesscentral.dynamics.com",
            "authority_url": "https://login.microsoftonline.com",
            "tenant": "t",
            "environment": "production",
            "client_id": "c",
            "client_secret": "",
            "grant_type": "client_credentials",
        },
    )
    assert response.status_code == 200
    assert "needs the app" in response.content.decode()
    assert not Connection.objects.exists()


def test_get_token_and_test_buttons(admin_client, connection):
    acquire = admin_client.post(reverse("admin:bcbridge_connection_acquire", args=[connection.pk]), follow=True)
    assert "Token acquired" in acquire.content.decode()
    assert connection.companies.count() >= 2
    test = admin_client.post(reverse("admin:bcbridge_connection_test", args=[connection.pk]), follow=True)
    assert "companies visible" in test.content.decode()


def test_test_action_reports_wrong_secret(admin_client, connection):
    connection.client_secret = "wrong"
    connection.save()
    response = admin_client.post(
        reverse("admin:bcbridge_connection_changelist"),
        {"action": "test_connections", "_selected_action": [connection.pk]},
        follow=True,
    )
    assert "7000215" in response.content.decode()


def test_connections_command_lists_status(connection, capsys):
    from django.core.management import call_command

    call_command("connect", connection.name)
    call_command("connections")
    out = capsys.readouterr().out
    assert connection.name in out and "Valid" in out
