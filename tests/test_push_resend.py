"""Send one outbox message to BC again (issue 14, item 3): "Send this record to BC again".

What BC holds afterwards is read back through BC's API, not from the outbox; a second
POST of a create would make a second record in BC (OData: a POST to a collection creates
a new entity), so a sent create is refused.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from bcbridge.entities import BC
from bcbridge.models import OutboxMessage, OutboxStatus
from bcbridge.odata import F
from bcbridge.push import drain, enqueue
from bcbridge.push.resend import send_again
from tests._push import first_company


def _customers_named(connection, cid, name):
    with BC(connection) as bc:
        return list(bc.company(cid).customers.list(filter=F("displayName") == name, select=["id", "displayName"]))


def test_a_parked_message_is_sent_now(connection, bc_emulator):
    cid = first_company(connection)
    message = enqueue(connection, cid, "create", entity_set="customers", payload={"displayName": "Resend Parked"})
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxStatus.PARKED, last_error="was down")
    result = send_again(OutboxMessage.objects.get(pk=message.pk))
    assert result.outcome == "sent", result
    assert len(_customers_named(connection, cid, "Resend Parked")) == 1


def test_a_sent_create_is_refused_and_bc_keeps_one_record(connection, bc_emulator):
    cid = first_company(connection)
    message = enqueue(connection, cid, "create", entity_set="customers", payload={"displayName": "Resend Once"})
    drain(connection=connection)
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    result = send_again(message)
    assert result.outcome == "refused" and "twice" in result.detail
    assert len(_customers_named(connection, cid, "Resend Once")) == 1
    with pytest.raises(CommandError, match="refused"):
        call_command("push", "--message", str(message.pk))


def test_a_sent_update_is_sent_again_as_a_copy(connection, bc_emulator):
    cid = first_company(connection)
    created = enqueue(connection, cid, "create", entity_set="customers", payload={"displayName": "Resend Update"})
    drain(connection=connection)
    created.refresh_from_db()
    update = enqueue(
        connection, cid, "update", entity_set="customers", key=created.bc_id, payload={"displayName": "Resend Updated"}
    )
    drain(connection=connection)
    # someone changes it back in BC; sending our update again restores our value
    bc_emulator.bc.change(cid, "customers", created.bc_id, {"displayName": "Changed In BC"})
    update.refresh_from_db()
    result = send_again(update)
    assert result.outcome == "sent" and result.message.pk != update.pk
    assert len(_customers_named(connection, cid, "Resend Updated")) == 1


def test_the_admin_action_and_an_unknown_id(connection, bc_emulator, admin_client):
    cid = first_company(connection)
    message = enqueue(connection, cid, "create", entity_set="customers", payload={"displayName": "Resend Admin"})
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxStatus.PARKED)
    url = reverse("admin:bcbridge_outboxmessage_changelist")
    page = admin_client.post(url, {"action": "send_again_selected", "_selected_action": [message.pk]}, follow=True)
    assert any(": sent" in str(m) for m in page.context["messages"])
    with pytest.raises(CommandError, match="No outbox message #999999"):
        call_command("push", "--message", "999999")
