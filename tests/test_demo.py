"""``bcbridge demo --once`` does the whole main job and says so (issue 8)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from bcbridge.models import Connection, OutboxMessage, WebhookDelivery


@pytest.mark.django_db(transaction=True)
def test_demo_once_runs_every_step(capsys):
    call_command("demo", "--once", "--port", "0", "--emulator-port", "0", "--scale", "0.3")
    out = capsys.readouterr().out
    for step in (
        "full sync",
        "webhooks subscribed",
        "BC activity via webhooks",
        "sales orders pushed",
        "reconcile",
        "each pushed order once in BC",
    ):
        assert step in out
    assert "failed" not in out
    assert "mirror equals BC" in out
    assert Connection.objects.get(name="demo").companies.filter(selected=True).count() == 1
    assert OutboxMessage.objects.filter(status="sent").count() == 6
    assert WebhookDelivery.objects.filter(status="processed").exists()
