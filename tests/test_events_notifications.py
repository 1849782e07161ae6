"""Events from BC's webhook notifications: a change BC notifies becomes a signed event in the
transaction that writes it to the mirror (the same hook as polls), delivered to a local
receiver that verifies it with the ``standardwebhooks`` library."""

from __future__ import annotations

from typing import Any

import pytest

from bcbridge.emulator import EmulatorConfig
from bcbridge.entities import BC
from bcbridge.events.delivery import deliver_due
from bcbridge.models import EventSubscription
from bcbridge.sync.engine import sync_entity_set
from bcbridge.sync.notifications import process_pending
from bcbridge.sync.webhooks import enable, maintain

from ._events import running_receiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bc_emulator_config() -> EmulatorConfig:
    return EmulatorConfig(base_url="http://bc.emulator.test", scale=0.2, webhook_delivery_interval=0)


def test_notified_change_becomes_a_signed_event(
    company: Any, connection: Any, settings: Any, receiver: Any, bc_emulator: Any
) -> None:
    settings.BCBRIDGE = {**settings.BCBRIDGE, "PUBLIC_URL": "http://testserver"}
    enable(connection, ["customers"])
    with BC(connection) as bc:
        assert sync_entity_set(bc, company, "customers").status == "succeeded"
    assert maintain(connection).count("created") == 1
    with running_receiver() as app:
        subscription = EventSubscription.objects.create(name="crm", url=app.url, event_types=["customer.updated"])
        app.secret = subscription.secret
        cid = str(company.bc_id)
        key = next(bc_emulator.bc.store.iter(cid, "customers"))[1]["id"]
        bc_emulator.bc.change(cid, "customers", key, {"city": "Notified City"})
        bc_emulator.clock.advance(30)  # BC's 30-second window closes
        bc_emulator.control.deliver_notifications()
        process_pending()
        deliver_due()
    [event] = app.accepted
    assert app.forged == []
    assert event["type"] == "customer.updated"
    assert event["data"]["record"]["id"] == key and event["data"]["record"]["city"] == "Notified City"
