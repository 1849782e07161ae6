# ruff: noqa: F811 (the fixtures of test_webhooks_processing are imported and used by name)
"""Probe: at least 200 hostile requests to the webhook receiver.

Malformed and huge bodies, deep nesting, wrong and unknown tokens, wrong ``clientState``,
resources of other companies, hosts, tenants and environments, forged deletes of records
BC still has, wrong methods. Goals: no 5xx, no 404/410 (BC would delete the subscription,
docs/bc/6-webhooks.md §6.4), no row stored for an unauthenticated request, no mirror change, no
request to another host.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from django.test import Client

from bcbridge.models import Customer, WebhookDelivery, WebhookRejection, WebhookSubscription
from bcbridge.sync.notifications import process_pending
from bcbridge.sync.webhooks import receiver_for
from tests.soak.conftest import size
from tests.test_webhooks_processing import bc_emulator_config, company, customer_keys  # noqa: F401

pytestmark = [pytest.mark.soak, pytest.mark.django_db(transaction=True)]


class HostRecorder(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.hosts: Counter[str] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts[request.url.host] += 1
        return self.inner.handle_request(request)


def _mirror(company: Any) -> set[tuple]:
    return set(
        Customer.all_objects.filter(company=company).values_list("bc_id", "etag", "deleted", "city", "display_name")
    )


def _hostile(company: Any, bc_emulator: Any, rng: random.Random) -> list[tuple[str, str, str, bytes, bool]]:
    """``(kind, method, path, body, authenticated)`` requests; ``authenticated`` ones carry
    the right token and clientState (forged content from someone who stole the secret)."""
    token = receiver_for(company.connection).token
    url = f"/bcbridge/webhooks/{token}/"
    sub = WebhookSubscription.objects.get(entity_set="customers")
    keys = customer_keys(bc_emulator, company, 20)
    config = bc_emulator.config

    def note(key: str, change: str = "updated", state: str | None = None, resource: str | None = None) -> dict:
        return {
            "subscriptionId": sub.subscription_id,
            "clientState": sub.client_state if state is None else state,
            "resource": resource or f"api/v2.0/companies({company.bc_id})/customers({key})",
            "changeType": change,
            "lastModifiedDateTime": "2099-01-01T00:00:00Z",
        }

    def body(*notes: dict) -> bytes:
        import orjson

        return orjson.dumps({"value": list(notes)})

    other_company = uuid.uuid4()
    requests: list[tuple[str, str, str, bytes, bool]] = []
    for i in range(size(25, 40)):
        key = rng.choice(keys)
        requests += [
            ("malformed", "POST", url, b"{not json" + bytes([rng.randint(0, 255)]), False),
            ("huge", "POST", url, b'{"value": [' + b'{"a": 1},' * 40000 + b"{}]}", False),
            ("nested", "POST", url, b'{"value": ' + b"[" * 5000 + b"]" * 5000 + b"}", False),
            ("unknown-token", "POST", f"/bcbridge/webhooks/{uuid.uuid4().hex}/", body(note(key)), False),
            ("wrong-token", "POST", f"/bcbridge/webhooks/{token[:-1]}x/", body(note(key)), False),
            ("wrong-client-state", "POST", url, body(note(key, "deleted", state=f"guess-{i}")), False),
            ("no-client-state", "POST", url, body({k: v for k, v in note(key).items() if k != "clientState"}), False),
            ("wrong-method", rng.choice(["GET", "PUT", "DELETE", "PATCH"]), url, body(note(key)), False),
            ("forged-delete", "POST", url, body(note(key, "deleted")), True),
            (
                "foreign-company",
                "POST",
                url,
                body(note(key, resource=f"api/v2.0/companies({other_company})/customers({key})")),
                True,
            ),
            (
                "foreign-host",
                "POST",
                url,
                body(
                    note(
                        key,
                        "deleted",
                        resource=f"https://evil.example/v2.0/{config.tenant}/{config.environment}/api/v2.0/"
                        f"companies({company.bc_id})/customers({key})",
                    )
                ),
                True,
            ),
        ]
    return requests


def test_hostile_webhook_requests(company, bc_emulator, emulator_transport, figures):
    rng = random.Random(200)
    recorder = HostRecorder(emulator_transport.inner)
    emulator_transport.inner = recorder
    before = _mirror(company)
    requests = _hostile(company, bc_emulator, rng)
    client = Client()
    statuses: Counter[int] = Counter()
    authenticated = 0
    for _kind, method, path, payload, auth in requests:
        answer = client.generic(method, path, payload, content_type="application/json")
        statuses[answer.status_code] += 1
        authenticated += auth
    stored = WebhookDelivery.objects.count()
    report = process_pending(limit=10000)
    after = _mirror(company)
    hosts = set(recorder.hosts) - {"bc.emulator.test"}
    figures.add("hostile requests", len(requests), ">= 200", ok=len(requests) >= 200)
    figures.add("answers 5xx", sum(n for s, n in statuses.items() if s >= 500), 0)
    figures.add("answers 404/410", statuses[404] + statuses[410], 0)
    figures.add("rows stored unauthenticated", stored - authenticated, 0)
    figures.add(
        "refused requests counted",
        sum(WebhookRejection.objects.values_list("count", flat=True)),
        len(requests) - authenticated,
    )
    figures.add("mirror changes", len(before ^ after), 0)
    figures.add("requests to other hosts", len(hosts), 0)
    figures.add("deliveries failed, not applied", report.failed + report.retried, "(information)", ok=True)
    figures.check()
