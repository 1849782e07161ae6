"""Webhook subscriptions and notifications against the documented samples (docs/bc §6).

A WSGI subscriber, mounted in-process as the emulator's notification transport, records the
handshake and the notification POSTs. Deliveries follow the emulator's clock: the tests move
it past BC's documented 30-second delay and ask for due deliveries.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from werkzeug.wrappers import Request, Response

from bcbridge.emulator.config import EmulatorConfig
from bcbridge.emulator.webhooks import notifier

from ._samples import assert_documented_shape, load
from .conftest import client_credentials

HOOK = "https://contoso.example/myCallbacks"
NOTIFICATION = load("webhook_notification")
#: Records changed in one window above which one ``collection`` notification is sent. BC
#: online uses 1,000; on-premises it is the setting ApiSubscriptionMaxNumberOfNotifications
#: (docs/bc §6.4), which lets the test stay small.
THRESHOLD = 3


class Subscriber:
    """Answers the handshake with the token (200, plain text) and notifications with ``status``."""

    def __init__(self) -> None:
        self.status = 200
        self.echo = True
        self.handshakes: list[dict[str, str]] = []
        self.posts: list[bytes] = []
        self.content_types: list[str] = []

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        token = request.args.get("validationToken")
        if token is not None:
            self.handshakes.append(dict(request.args))
            answer = Response(token if self.echo else "wrong", status=200, content_type="text/plain")
        else:
            self.posts.append(request.get_data())
            self.content_types.append(request.headers.get("Content-Type", ""))
            answer = Response(status=self.status)
        return answer(environ, start_response)

    def notifications(self) -> list[dict[str, Any]]:
        return [n for raw in self.posts for n in orjson.loads(raw)["value"]]


class _Frozen(datetime):
    """Wall time standing still, so only ``clock.advance`` moves the emulator's clock and the
    30-second window is crossed exactly when a test says so."""

    @classmethod
    def now(cls, tz: Any = None) -> _Frozen:
        return cls(2026, 11, 2, 9, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bcbridge.emulator.clock.datetime", _Frozen)


@pytest.fixture
def subscriber() -> Subscriber:
    return Subscriber()


@pytest.fixture
def bc_emulator_config(subscriber: Subscriber) -> EmulatorConfig:
    return EmulatorConfig(
        base_url="http://bc.emulator.test",
        webhook_delivery_interval=0,
        max_notifications=THRESHOLD,
        notification_transport=httpx.WSGITransport(app=subscriber),
    )


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _subscribe(
    api: httpx.Client, prefix: str, company: dict[str, Any], entity_set: str = "customers", **fields: str
) -> httpx.Response:
    body = dict(load("subscription_create")["request"]["body"])
    body.update(notificationUrl=HOOK, resource=f"/api/v2.0/companies({company['id']})/{entity_set}", **fields)
    return api.post(f"{prefix}/subscriptions", json=body, headers={"Content-Type": "application/json"})


def _deliver_after_the_delay(emulator: Any, seconds: float | None = None) -> int:
    emulator.clock.advance(NOTIFICATION["delay_seconds"] if seconds is None else seconds)
    return notifier(emulator).deliver_due()


def test_create_runs_the_handshake_then_answers_201(
    api: httpx.Client, prefix: str, company: dict[str, Any], subscriber: Subscriber
) -> None:
    sample = load("subscription_create")
    answer = _subscribe(api, prefix, company)
    assert len(subscriber.handshakes) == 1
    assert list(subscriber.handshakes[0]) == [sample["handshake"]["query_parameter"]]
    assert answer.status_code == sample["response"]["status"], answer.text
    sub = answer.json()
    assert_documented_shape(sub, sample["response"]["body"], "subscription")
    assert re.fullmatch(r"[0-9a-f]{32}", sub["subscriptionId"])  # 32 hex digits, no dashes, as in the sample
    requested = sample["request"]["body"]
    assert sub["notificationUrl"] == HOOK
    assert sub["resource"] == f"/api/v2.0/companies({company['id']})/customers"
    assert sub["clientState"] == requested["clientState"]
    lifetime = _parse(sub["expirationDateTime"]) - _parse(sub["systemCreatedAt"])
    assert lifetime == timedelta(days=sample["lifetime_days"])


def test_get_shows_the_same_subscription(api: httpx.Client, prefix: str, company: dict[str, Any]) -> None:
    created = _subscribe(api, prefix, company).json()
    one = api.get(f"{prefix}/subscriptions('{created['subscriptionId']}')")
    assert one.status_code == 200, one.text
    assert_documented_shape(one.json(), load("subscription_create")["response"]["body"], "subscription")
    listed = api.get(f"{prefix}/subscriptions").json()["value"]
    assert [s["subscriptionId"] for s in listed] == [created["subscriptionId"]]


def test_no_subscription_without_the_token_back(
    api: httpx.Client, prefix: str, company: dict[str, Any], subscriber: Subscriber
) -> None:
    """'Will be created only if handshake is successful' (create page); the failing status is
    not documented, so only "not created" is checked."""
    subscriber.echo = False
    answer = _subscribe(api, prefix, company)
    assert answer.status_code >= 400
    assert api.get(f"{prefix}/subscriptions").json()["value"] == []


def test_record_notifications_have_the_documented_shape(
    bc_emulator: Any, api: httpx.Client, prefix: str, company: dict[str, Any], company_url: str, subscriber: Subscriber
) -> None:
    sub = _subscribe(api, prefix, company).json()
    existing = api.get(f"{company_url}/customers", params={"$top": "1"}).json()["value"][0]
    patched = api.patch(
        f"{company_url}/customers({existing['id']})",
        json={"displayName": "Adatum Corporation"},
        headers={"If-Match": existing["@odata.etag"]},
    )
    assert patched.status_code == 200, patched.text
    created = api.post(f"{company_url}/customers", json={"displayName": "Contoso webhook test"})
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]

    # BC waits 30 seconds after the first change before it sends anything.
    assert _deliver_after_the_delay(bc_emulator, NOTIFICATION["delay_seconds"] - 1) == 0
    assert subscriber.posts == []
    assert _deliver_after_the_delay(bc_emulator, 1) == 1

    assert len(subscriber.posts) == 1
    raw = subscriber.posts[0]
    assert not raw.startswith(b"\xef\xbb\xbf")  # no byte order mark since version 19
    assert subscriber.content_types[0].startswith("application/json")
    assert list(orjson.loads(raw)) == list(NOTIFICATION["body"])  # {"value": [...]}
    documented = NOTIFICATION["body"]["value"][0]
    got = {n["resource"]: n for n in subscriber.notifications()}
    base = f"api/v2.0/companies({company['id']})/customers"
    assert set(got) == {f"{base}({existing['id']})", f"{base}({new_id})"}
    for notification in got.values():
        assert list(notification) == list(documented)  # exactly the documented members, in order
        assert_documented_shape(notification, documented, "notification")
        assert notification["subscriptionId"] == sub["subscriptionId"]
        assert notification["clientState"] == sub["clientState"]
        assert notification["expirationDateTime"] == sub["expirationDateTime"]
    assert got[f"{base}({existing['id']})"]["changeType"] == "updated"
    assert got[f"{base}({new_id})"]["changeType"] == "created"

    deleted = api.delete(f"{company_url}/customers({new_id})", headers={"If-Match": "*"})
    assert deleted.status_code == 204, deleted.text
    _deliver_after_the_delay(bc_emulator)
    last = orjson.loads(subscriber.posts[-1])["value"]
    assert [(n["resource"], n["changeType"]) for n in last] == [(f"{base}({new_id})", "deleted")]


def test_many_changes_become_one_collection_notification(
    bc_emulator: Any, api: httpx.Client, prefix: str, company: dict[str, Any], company_url: str, subscriber: Subscriber
) -> None:
    documented = NOTIFICATION["body"]["value"][3]
    _subscribe(api, prefix, company, entity_set="customers")
    for n in range(THRESHOLD + 1):
        created = api.post(f"{company_url}/customers", json={"displayName": f"Collection test {n}"})
        assert created.status_code == 201, created.text
    _deliver_after_the_delay(bc_emulator)
    notifications = subscriber.notifications()
    assert len(notifications) == 1
    notification = notifications[0]
    assert list(notification) == list(documented)
    assert notification["changeType"] == documented["changeType"] == "collection"
    # "/api/v2.0/companies(<id>)/<set>?$filter=lastDateTimeModified%20gt%20<UTC datetime>"
    head = documented["resource"].split("(", 1)[0]
    tail = documented["resource"].split("?", 1)[1].split("%20gt%20", 1)[0]
    assert notification["resource"].startswith(f"{head}({company['id']})/customers?{tail}%20gt%20")
    since = notification["resource"].rsplit("%20gt%20", 1)[1]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", since), since


def test_a_line_change_notifies_the_document(
    bc_emulator: Any, api: httpx.Client, prefix: str, company: dict[str, Any], company_url: str, subscriber: Subscriber
) -> None:
    """'A notification ... for salesInvoice is sent, if a change is made to a related salesInvoiceLine.'"""
    _subscribe(api, prefix, company, entity_set="salesOrders")
    order = api.get(f"{company_url}/salesOrders", params={"$top": "1", "$expand": "salesOrderLines"}).json()["value"][0]
    line = order["salesOrderLines"][0]
    changed = api.patch(
        f"{company_url}/salesOrders({order['id']})/salesOrderLines({line['id']})",
        json={"description": "Changed by the contract test"},
        headers={"If-Match": "*"},
    )
    assert changed.status_code == 200, changed.text
    _deliver_after_the_delay(bc_emulator)
    assert [(n["resource"], n["changeType"]) for n in subscriber.notifications()] == [
        (f"api/v2.0/companies({company['id']})/salesOrders({order['id']})", "updated")
    ]


@pytest.mark.parametrize("status", NOTIFICATION["retry_statuses"])
def test_retryable_answers_keep_the_subscription(
    bc_emulator: Any,
    api: httpx.Client,
    prefix: str,
    company: dict[str, Any],
    company_url: str,
    subscriber: Subscriber,
    status: int,
) -> None:
    sub = _subscribe(api, prefix, company).json()
    subscriber.status = status
    api.post(f"{company_url}/customers", json={"displayName": f"Retry test {status}"})
    _deliver_after_the_delay(bc_emulator)
    assert len(subscriber.posts) == 1
    assert api.get(f"{prefix}/subscriptions('{sub['subscriptionId']}')").status_code == 200
    subscriber.status = 200
    # "several retries are attempted over the next 36 hours": by hour 35 at least one was due
    _deliver_after_the_delay(bc_emulator, 35 * 3600)
    assert len(subscriber.posts) >= 2
    assert subscriber.posts[-1] == subscriber.posts[0]  # the same notifications again


@pytest.mark.parametrize("status", NOTIFICATION["deleting_statuses"])
def test_other_answers_delete_the_subscription(
    bc_emulator: Any,
    api: httpx.Client,
    prefix: str,
    company: dict[str, Any],
    company_url: str,
    subscriber: Subscriber,
    status: int,
) -> None:
    assert _subscribe(api, prefix, company).status_code == 201
    subscriber.status = status
    api.post(f"{company_url}/customers", json={"displayName": f"Delete test {status}"})
    _deliver_after_the_delay(bc_emulator)
    assert len(subscriber.posts) == 1
    assert api.get(f"{prefix}/subscriptions").json()["value"] == []
    _deliver_after_the_delay(bc_emulator, 12 * 3600)
    assert len(subscriber.posts) == 1  # no retries


def test_renewal_needs_the_handshake_again(
    bc_emulator: Any, api: httpx.Client, prefix: str, company: dict[str, Any], subscriber: Subscriber
) -> None:
    """'PATCH requests a handshake, just like POST requests'; the renewed subscription expires
    three days after the renewal."""
    sub = _subscribe(api, prefix, company).json()
    url = f"{prefix}/subscriptions('{sub['subscriptionId']}')"
    bc_emulator.clock.advance(3000)  # within the access token's lifetime
    renewed = api.patch(url, json={"clientState": sub["clientState"]}, headers={"If-Match": sub["@odata.etag"]})
    assert renewed.status_code == 200, renewed.text
    assert len(subscriber.handshakes) == 2
    renewal = renewed.json()
    assert renewal["expirationDateTime"] > sub["expirationDateTime"]
    lifetime = timedelta(days=load("subscription_create")["lifetime_days"])
    assert _parse(renewal["expirationDateTime"]) - _parse(renewal["lastModifiedDateTime"]) == lifetime
    subscriber.echo = False
    refused = api.patch(url, json={"clientState": sub["clientState"]}, headers={"If-Match": "*"})
    assert refused.status_code >= 400
    assert api.get(url).json()["expirationDateTime"] == renewal["expirationDateTime"]


def test_delete_answers_204(api: httpx.Client, prefix: str, company: dict[str, Any]) -> None:
    sub = _subscribe(api, prefix, company).json()
    url = f"{prefix}/subscriptions('{sub['subscriptionId']}')"
    assert api.delete(url, headers={"If-Match": sub["@odata.etag"]}).status_code == 204
    assert api.get(f"{prefix}/subscriptions").json()["value"] == []


@pytest.mark.parametrize("entity_set", ["items", "vendors", "salesInvoices", "salesOrderLines", "salesInvoiceLines"])
def test_only_the_listed_entities_take_subscriptions(
    api: httpx.Client, prefix: str, company: dict[str, Any], entity_set: str
) -> None:
    answer = _subscribe(api, prefix, company, entity_set=entity_set)
    if entity_set in NOTIFICATION["supported_entities"]:
        assert answer.status_code == 201, answer.text
    else:
        assert answer.status_code >= 400  # how BC refuses is not documented
        assert api.get(f"{prefix}/subscriptions").json()["value"] == []


def test_a_subscription_not_renewed_expires_after_three_days(
    bc_emulator: Any,
    bc_emulator_http: httpx.Client,
    api: httpx.Client,
    prefix: str,
    company: dict[str, Any],
    company_url: str,
    subscriber: Subscriber,
) -> None:
    """'Subscriptions will expire after three days, if not renewed before.'"""
    sub = _subscribe(api, prefix, company).json()
    lifetime = load("subscription_create")["lifetime_days"] * 24 * 3600
    bc_emulator.clock.advance(lifetime - 60)
    api.headers["Authorization"] = f"Bearer {client_credentials(bc_emulator_http, bc_emulator).json()['access_token']}"
    assert [s["subscriptionId"] for s in api.get(f"{prefix}/subscriptions").json()["value"]] == [sub["subscriptionId"]]
    bc_emulator.clock.advance(61)
    assert api.get(f"{prefix}/subscriptions").json()["value"] == []
    api.post(f"{company_url}/customers", json={"displayName": "After expiry"})
    _deliver_after_the_delay(bc_emulator)
    assert subscriber.posts == []  # nothing is sent for an expired subscription
