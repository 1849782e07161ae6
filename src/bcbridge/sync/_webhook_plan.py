"""Reading webhook deliveries into plans: which records to read, delete or pull.

A :class:`Plan` holds, per ``(company pk, api, entity set)``, the keys to read again (with
the newest ``lastModifiedDateTime`` notified), the keys to soft-delete and whether the whole
set must be pulled (``collection``). Plans of several deliveries :func:`merge` into one, so
a batch reads each changed record once. Resources follow docs/bc/6-webhooks.md §6.4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import orjson

from bcbridge.http.urls import BCUrls
from bcbridge.models import Company, Connection, WebhookDelivery, WebhookSubscription
from bcbridge.sync.registry import parse_datetime

__all__ = ["CHANGE_TYPES", "LIFECYCLE_EVENTS", "Plan", "merge", "parse_resource", "plan_delivery", "resource_prefix"]

CHANGE_TYPES = frozenset({"created", "updated", "deleted", "collection"})
#: Microsoft Graph's lifecycle notifications (``lifecycleEvent``); BC's documents are silent.
LIFECYCLE_EVENTS = frozenset({"subscriptionRemoved", "reauthorizationRequired", "missed"})
#: ``[prefix/]api/{v2.0 | pub/grp/ver}/companies({id})/{set}[({key})][?$filter=...]``
#: (docs/bc/6-webhooks.md §6.4); a prefix must be the connection's environment root.
_RESOURCE = re.compile(
    r"^(?P<prefix>.*?/)?api/(?P<api>v2\.0|[^/]+/[^/]+/[^/]+)/companies\((?P<company>[^)]+)\)"
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


def resource_prefix(resource: str) -> str:
    """What stands before ``api/`` in a notification's ``resource`` (``""`` or ``"/"`` for
    BC's relative form)."""
    match = _RESOURCE.match(resource.strip())
    return (match["prefix"] or "") if match else ""


def _prefix_allowed(prefix: str, connection: Connection) -> bool:
    """A resource's prefix is empty, ``/``, or the connection's own environment root
    (absolute, or its path): another host, tenant or environment is refused."""
    if prefix in ("", "/"):
        return True
    root = BCUrls(connection.api_url, connection.tenant, connection.environment).environment_root
    path = urlsplit(root).path
    return prefix.rstrip("/").lower() in {root.lower(), path.lower(), path.lstrip("/").lower()}


@dataclass
class Plan:
    """What one delivery asks for, per (company, api, set): keys to read, keys to delete,
    whether to pull the whole set."""

    fetch: dict[tuple[int, str, str], dict[str, datetime | None]] = field(default_factory=dict)
    delete: dict[tuple[int, str, str], set[str]] = field(default_factory=dict)
    collection: set[tuple[int, str, str]] = field(default_factory=set)
    companies: dict[int, Company] = field(default_factory=dict)
    lost: set[int] = field(default_factory=set)  # subscriptions a lifecycle event says BC dropped


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
            connection=delivery.connection, subscription_id__in=ids).select_related("company", "connection")}
    plan = Plan()
    for notification in items:
        sub = subscriptions.get((delivery.connection_id, str(notification.get("subscriptionId"))))  # type: ignore[arg-type]
        if sub is None:
            continue  # unsubscribed since it was received
        if "changeType" not in notification and notification.get("lifecycleEvent"):
            # missed notifications, or BC dropping the subscription: pull the set (the poll's
            # job anyway) and let the next maintenance pass recreate a dropped subscription
            plan.companies[sub.company_id] = sub.company
            plan.collection.add((sub.company_id, sub.api, sub.entity_set))
            if notification["lifecycleEvent"] != "missed":
                plan.lost.add(sub.pk)
            continue
        resource = str(notification.get("resource", ""))
        api, company_id, entity_set, key = parse_resource(resource)
        if (
            company_id != str(sub.company.bc_id)
            or entity_set != sub.entity_set
            or api != sub.api
            or not _prefix_allowed(resource_prefix(resource), sub.connection)
        ):
            raise ValueError(f"resource {resource[:200]!r} is not that of subscription {sub}")
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
    into.lost |= plan.lost
    for where, keys in plan.delete.items():
        into.delete.setdefault(where, set()).update(keys)
        for key in keys:
            into.fetch.get(where, {}).pop(key, None)
    for where, wanted in plan.fetch.items():
        target, gone = into.fetch.setdefault(where, {}), into.delete.get(where, set())
        for key, modified in wanted.items():
            if key not in gone:
                target[key] = _newest(target[key], modified) if key in target else modified
