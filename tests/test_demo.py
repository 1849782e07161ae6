"""``bcbridge demo --once`` does the whole main job and says so (issues 8 and 14)."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command

from bcbridge.demo import FEED
from bcbridge.demo.activity import Activity, new_item_name
from bcbridge.models import ApiEndpoint, Connection, OutboxMessage, WebhookDelivery


def _count(out: str, label: str) -> int:
    match = re.search(rf"│ {re.escape(label)}\s*│\s*([\d,]+) │", out)
    assert match, label
    return int(match.group(1).replace(",", ""))


@pytest.mark.django_db(transaction=True)
def test_demo_once_runs_every_step(capsys):
    call_command("demo", "--once", "--port", "0", "--emulator-port", "0", "--scale", "0.3")
    out = capsys.readouterr().out
    for step in (
        "endpoints",
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
    feed = json.loads(FEED.read_text())  # the web-shop feed the demo pushes
    assert OutboxMessage.objects.filter(status="sent", operation="sales_order").count() == len(feed)
    assert _count(out, "sales orders pushed to BC") == len(feed)
    assert WebhookDelivery.objects.filter(status="processed").exists()
    # the seed's endpoint rows exist, so the endpoint screen is not empty
    codes = set(ApiEndpoint.objects.filter(connection__name="demo").values_list("code", flat=True))
    assert {"GET_SALES_ORDER_NOS", "GET_WHSE_SHPT_LINES"} <= codes
    # item variants are counted as what they are, not added to the items
    assert "records in the mirror: items" in out and "records in the mirror: item variants" in out
    # the deliveries of the activity step are the ones the summary attributes to it
    step = re.search(r"([\d,]+) webhook deliver(?:y|ies) received and processed", out)
    assert step and int(step.group(1)) == _count(out, "webhook deliveries during the BC activity step")
    total = WebhookDelivery.objects.count()
    assert (
        _count(out, "webhook deliveries during the BC activity step")
        + _count(out, "webhook deliveries after it (pushed orders, final check)")
        == total
    )
    # --once stops the servers before it returns: no URLs of servers that are gone
    assert "admin      http" not in out and "dashboard  http" not in out
    assert "data       SQLite" in out or "data       PostgreSQL" in out


def test_activity_reads_as_english():
    activity = Activity()
    activity.add("orders shipped and invoiced")
    activity.add("customers deleted", 2)
    assert str(activity) == "1 sales order shipped and invoiced, 2 customers deleted"


def test_each_round_names_new_items():
    names = {new_item_name(seed, index) for seed in range(1, 30) for index in range(3)}
    assert len(names) == 29 * 3
