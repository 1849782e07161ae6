"""Helpers of the REST API tests: keys, an authenticated Django test client, BC's own records."""

from __future__ import annotations

from typing import Any

from django.test import Client

from bcbridge.entities import BC
from bcbridge.models import ApiClient

BASE = "/bcbridge/api/v1"


def make_key(scopes: list[str] | None = None, **fields: Any) -> tuple[ApiClient, str]:
    return ApiClient.create_with_key(fields.pop("name", "shop"), scopes or ["read"], **fields)


def api_client(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def bc_list(company: Any, entity_set: str, **params: Any) -> list[dict[str, Any]]:
    """What BC has, read through BC's API (the source of truth the API is compared with)."""
    with BC(company.connection) as facade:
        return list(facade.company(str(company.bc_id)).entity_set(entity_set).list(**params))


def all_pages(client: Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Follow nextCursor to the end; fails on a repeated cursor."""
    seen: set[str] = set()
    records: list[dict[str, Any]] = []
    while True:
        answer = client.get(f"{BASE}{path}", params)
        assert answer.status_code == 200, answer.content
        body = answer.json()
        records.extend(body["value"])
        cursor = body["nextCursor"]
        if cursor is None:
            return records
        assert cursor not in seen
        seen.add(cursor)
        params = {**params, "cursor": cursor}
