"""Reading webhook deliveries into plans: which records to read, delete or pull.

A :class:`Plan` holds, per ``(company pk, api, entity set)``, the keys to read again (with
the newest ``lastModifiedDateTime`` notified), the keys to soft-delete and whether the whole
set must be pulled (``collection``). Plans of several deliveries :func:`merge` into one, so
a batch reads each changed record once. Resources follow API-FACTS §6.4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from bcbridge.models import Company, WebhookDelivery, WebhookSubscription
from bcbridge.sync.registry import parse_datetime

__all__ = ["CHANGE_TYPES", "Plan", "merge", "parse_resource", "plan_delivery"]

CHANGE_TYPES = frozenset({"created", "updated", "deleted", "collection"})
#: ``[/]api/{v2.0 | pub/grp/ver}/companies({id})/{set}[({key})][?$filter=...]`` (API-FACTS §6.4).
_RESOURCE = re.compile(
    r"^/?(?:.*?/)?api/(?P<api>v2\.0|[^/]+/[^/]+/[^/]+)/companies\((?P<company>[^)]+)\)"
    r"/(?P<set>[A-Za-z_]\w*)(?:\((?P<key>[^)]+)\))?/?(?:\?.*)?$"
)


def parse_resource(resource: str) -> tuple[str, str, str, str | None]:
    """``(api, company id, entity set, key or None)`` of a notification's ``resource``
    (``api`` is ``""`` for API v2.0). Raises ``ValueError`` when it is not one."""
    match = _RESOURCE.match(resource.strip())
    if match is None:
        raise ValueError(f"not a BC resource: {resource[:200]!r}")
    api = "" if match["api"] == "v2.0" else match["api"]
    key = match["key"].strip("'").lower() if match["key"] else None
    return api, match["company"].strip("'").lower(), match["set"], key


@dataclass
class Plan:
    """What one delivery asks for, per (company, api, set): keys to read, keys to delete,
    whether to pull the whole set."""

    fetch: dict[tuple[int, str, str], dict[str, datetime | None]] = field(default_factory=dict)
    delete: dict[tuple[int, str, str], set[str]] = field(default_factory=dict)
    collection: set[tuple[int, str, str]] = field(default_factory=set)
    companies: dict[int, Company] = field(default_factory=dict)


def plan_delivery(
    delivery: WebhookDelivery, subscriptions: dict[tuple[int, str], WebhookSubscription] | None = None
) -> tuple[Plan, int]:
    """What one stored delivery asks for, and its number of notifications.

    ``subscriptions`` maps ``(connection pk, subscriptionId)`` to the rows (with their
    company) when the caller loaded them for a whole batch; else they are read here.

    Raises:
        ValueError: the body is not BC's shape, or a resource is not its subscription's.
        orjson.JSONDecodeError: the body is not JSON.
    """
    body = orjson.loads(delivery.body)
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ValueError("the body has no value list")
    if subscriptions is None:
        ids = {str(n.get("subscriptionId")) for n in items if isinstance(n, dict)}
        subscriptions = {(s.connection_id, s.subscription_id): s for s in WebhookSubscription.objects.filter(
            connection=delivery.connection, subscription_id__in=ids).select_related("company")}
    plan = Plan()
    for notification in items:
        sub = subscriptions.get((delivery.connection_id, str(notification.get("subscriptionId"))))  # type: ignore[arg-type]
        if sub is None:
            continue  # unsubscribed since it was received
        api, company_id, entity_set, key = parse_resource(str(notification.get("resource", "")))
        if company_id != str(sub.company.bc_id) or entity_set != sub.entity_set or api != sub.api:
            raise ValueError(f"resource {notification.get('resource')!r} is not that of subscription {sub}")
        where = (sub.company_id, api, entity_set)
        plan.companies[sub.company_id] = sub.company
        change = notification.get("changeType")
        if change == "collection" or key is None:
            plan.collection.add(where)
        elif change == "deleted":
            plan.delete.setdefault(where, set()).add(key)
            plan.fetch.get(where, {}).pop(key, None)
        else:
            modified = parse_datetime(notification.get("lastModifiedDateTime"))
            if key not in plan.delete.get(where, set()):
                plan.fetch.setdefault(where, {})[key] = modified
    return plan, len(items)


def _newest(a: datetime | None, b: datetime | None) -> datetime | None:
    return None if a is None or b is None else max(a, b)


def merge(into: Plan, plan: Plan) -> None:
    """Add ``plan`` (a later delivery) to ``into``: one read per record for the whole batch."""
    into.companies.update(plan.companies)
    into.collection |= plan.collection
    for where, keys in plan.delete.items():
        into.delete.setdefault(where, set()).update(keys)
        for key in keys:
            into.fetch.get(where, {}).pop(key, None)
    for where, wanted in plan.fetch.items():
        target, gone = into.fetch.setdefault(where, {}), into.delete.get(where, set())
        for key, modified in wanted.items():
            if key not in gone:
                target[key] = _newest(target[key], modified) if key in target else modified
