"""API keys: shown once, stored hashed, prefix visible, revocable, last used; staff sessions;
per-key throttling (429 + Retry-After, RFC 6585 §4 / RFC 9110 §10.2.3); the CLI and the
admin; the docs page and openapi.json."""

from __future__ import annotations

import hashlib

import pytest
from django.core.management import call_command
from django.utils import timezone

from bcbridge.models import ApiClient, EventDelivery, EventSubscription

from ._api import BASE, api_client, make_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    client.force_login(user)
    return client


def test_unknown_missing_and_revoked_keys_are_401(company):
    assert api_client("bcb_wrong").get(f"{BASE}/items").status_code == 401
    missing = api_client("").get(f"{BASE}/items")
    assert missing.status_code == 401 and missing["Content-Type"] == "application/problem+json"
    assert missing["WWW-Authenticate"].startswith("Bearer")
    client, key = make_key(["read"])
    assert api_client(key).get(f"{BASE}/items").status_code == 200
    client.refresh_from_db()
    assert client.last_used_at is not None
    client.revoked_at = timezone.now()
    client.save()
    revoked = api_client(key).get(f"{BASE}/items")
    assert revoked.status_code == 401 and revoked.json()["code"] == "key_revoked"


def test_key_is_stored_hashed_with_a_visible_prefix(db):
    client, key = make_key(["read", "orders"])
    row = ApiClient.objects.get(pk=client.pk)
    assert key not in {row.key_hash, row.prefix} and key.startswith(row.prefix)
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()  # FIPS 180-4 SHA-256, not ours
    assert ApiClient.find(key) == row and ApiClient.find(key[:-1] + "x") is None


def test_throttle_answers_429_with_retry_after(company):
    # a window of ~31 years (aligned to the epoch): no window boundary falls inside the test
    _, key = make_key(["read"], rate_limit=3, rate_window=10**9)
    caller = api_client(key)
    assert [caller.get(f"{BASE}/health").status_code for _ in range(3)] == [200, 200, 200]
    limited = caller.get(f"{BASE}/health")
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 10**9  # delay-seconds, RFC 9110 §10.2.3
    _, other = make_key(["read"], name="other")
    assert api_client(other).get(f"{BASE}/health").status_code == 200  # per key


def test_staff_session_has_every_scope(staff, company):
    assert staff.get(f"{BASE}/items").status_code == 200
    assert staff.get(f"{BASE}/health").json()["status"] in {"ok", "degraded"}


def test_apikey_command_prints_the_key_alone_on_the_last_line(company, capsys):
    call_command("apikey", "create", "webshop", "--scopes", "read,orders", "--company", str(company.bc_id))
    last = capsys.readouterr().out.strip().splitlines()[-1]
    client = ApiClient.objects.get(name="webshop")
    assert last.startswith(client.prefix) and " " not in last
    assert client.scopes == ["read", "orders"] and client.company == company
    assert api_client(last).get(f"{BASE}/items").status_code == 200
    call_command("apikey", "list")
    assert "webshop" in capsys.readouterr().out
    call_command("apikey", "revoke", "webshop")
    assert api_client(last).get(f"{BASE}/items").status_code == 401
    with pytest.raises(Exception, match="choose from"):
        call_command("apikey", "create", "bad", "--scopes", "write")


def test_admin_creates_a_client_and_shows_the_key_once(staff, db):
    answer = staff.post(
        "/admin/bcbridge/apiclient/add/",
        {"name": "bi", "scopes": ["read"], "endpoints": "[]", "rate_limit": 600, "rate_window": 60},
        follow=True,
    )
    assert answer.status_code == 200
    client = ApiClient.objects.get(name="bi")
    shown = [str(m) for m in answer.context["messages"]]
    key = next(word for m in shown for word in m.split() if word.startswith("bcb_"))
    assert ApiClient.find(key) == client
    page = staff.get(f"/admin/bcbridge/apiclient/{client.pk}/change/").content.decode()
    assert client.prefix in page and key not in page


def test_admin_subscription_and_resend(staff, db):
    answer = staff.post(
        "/admin/bcbridge/eventsubscription/add/",
        {"name": "crm", "url": "http://127.0.0.1:9/hooks", "event_types": ["item.created"], "enabled": "on"},
        follow=True,
    )
    assert answer.status_code == 200
    subscription = EventSubscription.objects.get(name="crm")
    assert subscription.secret.startswith("whsec_")
    assert any(subscription.secret in str(m) for m in answer.context["messages"])
    assert (
        subscription.secret
        not in staff.get(f"/admin/bcbridge/eventsubscription/{subscription.pk}/change/").content.decode()
    )
    assert staff.get("/admin/bcbridge/eventdelivery/").status_code == 200
    assert EventDelivery.objects.count() == 0


def test_docs_page_and_openapi(staff, db):
    schema = staff.get(f"{BASE}/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert f"{BASE}/items" in schema["paths"] and f"{BASE}/sales-orders" in schema["paths"]
    problem = schema["paths"][f"{BASE}/items"]["get"]["responses"]["400"]["content"]
    assert "application/problem+json" in problem
    docs = staff.get(f"{BASE}/docs")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
