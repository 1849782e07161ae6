"""The smaller items of issue #16 point 9 and point 4's logs: the endpoint "Try it" page
needs the view permission, the emulator's control API answers loopback clients only, and
the receiver token never reaches ``django.request``, ``django.server`` or waitress logs."""

from __future__ import annotations

import logging

import httpx
import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from bcbridge.emulator import Emulator, EmulatorConfig
from bcbridge.models import ApiEndpoint
from bcbridge.sync.webhooks import receiver_for


@pytest.mark.django_db
def test_try_it_get_needs_the_view_permission(connection):
    endpoint = ApiEndpoint.objects.create(
        connection=connection, code="items", name="items", kind="api", method="GET", url_template="items"
    )
    url = reverse("admin:bcbridge_apiendpoint_try", args=[endpoint.pk])
    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get(url).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_apiendpoint"))
    staff = User.objects.get(pk=staff.pk)  # permissions are cached per user object
    client.force_login(staff)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(("address", "status"), [("127.0.0.1", 200), ("::1", 200), ("192.0.2.7", 403)])
def test_the_emulator_control_api_answers_loopback_only(address, status):
    emulator = Emulator(EmulatorConfig(base_url="http://bc.emulator.test", scale=0.05))
    transport = httpx.WSGITransport(app=emulator, remote_addr=address)
    with httpx.Client(transport=transport, base_url="http://bc.emulator.test") as http:
        answer = http.post("/_emulator/reset", json={})
    assert answer.status_code == status
    if status == 403:
        assert "loopback" in answer.json()["error"]["message"]


@pytest.mark.django_db
def test_the_receiver_token_is_redacted_from_request_logs(connection, caplog):
    token = receiver_for(connection).token
    with caplog.at_level(logging.INFO):
        answer = Client().post(f"/bcbridge/webhooks/{token}/", b"{not json", content_type="application/json")
        assert answer.status_code == 400
        logging.getLogger("django.server").info('"POST /bcbridge/webhooks/%s/ HTTP/1.1" 400 19', token)
        logging.getLogger("waitress").warning("Exception while serving /bcbridge/webhooks/%s/", token)
    loggers = {record.name for record in caplog.records}
    assert {"django.request", "django.server", "waitress"} <= loggers
    assert token not in caplog.text and "/webhooks/[redacted]" in caplog.text


@pytest.mark.django_db
def test_rejected_requests_are_listed_in_the_admin(admin_client):
    from bcbridge.models import count_rejection

    count_rejection("unknown-token", "192.0.2.1")
    count_rejection("unknown-token", "192.0.2.2")
    page = admin_client.get(reverse("admin:bcbridge_webhookrejection_changelist"))
    assert page.status_code == 200
    assert b"unknown-token" in page.content and b"192.0.2.2" in page.content
