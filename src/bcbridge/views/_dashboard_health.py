"""The dashboard's sync and webhook health panels (see :mod:`bcbridge.views._dashboard_data`
for the conventions: SQL aggregates, limited lists, JSON-ready values, ages in seconds)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from bcbridge.models import (
    Company,
    DeliveryStatus,
    SubscriptionStatus,
    SyncConfig,
    SyncRun,
    SyncState,
    WebhookDelivery,
    WebhookSubscription,
)
from bcbridge.views._dashboard_data import _age, _scoped

__all__ = ["sync_health", "webhook_health"]


def sync_health(
    company: Company | None = None, *, hours: int = 24, limit: int = 200, now: datetime | None = None
) -> dict[str, Any]:
    """Per ``(connection, company, api, entity set)``: watermark, last success, last error, the
    latest run, and the runs of the last ``hours`` by status.

    Runs are read only inside the window (``SyncRun.started_at`` is indexed): one grouped
    count and the rows of each set's latest run. Enabled configurations never synced yet are
    listed as ``never``.

    Returns:
        ``{"hours": int, "sets": [row], "runs_by_status": {status: int},
        "failing": int}``; a row is ``{"connection", "company", "api", "entity_set",
        "watermark", "watermark_age", "last_success_at", "last_error", "locked",
        "last_run": {"kind", "status", "started_at", "fetched", "created", "updated",
        "deleted", "error"} | None, "runs": {status: int}, "fetched": int, "health"}``,
        ``health`` one of ``ok``, ``failing``, ``never``; ages are in seconds.
    """
    now = now or timezone.now()
    since = now - timedelta(hours=hours)
    states = _scoped(SyncState.objects.select_related("connection", "company"), company)[:limit]
    runs = _scoped(SyncRun.objects.filter(started_at__gte=since), company)
    key_fields = ("connection_id", "company_id", "api", "entity_set")
    counts: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    fetched: dict[tuple[Any, ...], int] = defaultdict(int)
    latest: list[int] = []
    for row in runs.values(*key_fields, "status").annotate(n=Count("id"), f=Sum("fetched"), last=Max("id")):
        key = tuple(row[f] for f in key_fields)
        counts[key][row["status"]] += row["n"]
        fetched[key] += row["f"] or 0
        latest.append(row["last"])
    last_runs: dict[tuple[Any, ...], SyncRun] = {}
    for latest_run in SyncRun.objects.filter(id__in=latest).order_by("id"):
        key = (latest_run.connection_id, latest_run.company_id, latest_run.api, latest_run.entity_set)
        last_runs[key] = latest_run

    sets = []
    seen = set()
    for state in states:
        key = (state.connection_id, state.company_id, state.api, state.entity_set)
        seen.add((state.connection_id, state.company_id, state.entity_set))
        run = last_runs.get(key)
        failing = bool(state.last_error) or (run is not None and run.status == SyncRun.Status.FAILED)
        sets.append(
            {
                "connection": state.connection.name,
                "company": state.company.display_name or state.company.name,
                "api": state.api,
                "entity_set": state.entity_set,
                "watermark": state.watermark,
                "watermark_age": _age(state.watermark, now),
                "last_success_at": state.last_success_at,
                "last_error": state.last_error,
                "locked": state.locked,
                "last_run": _run(run),
                "runs": dict(counts.get(key, {})),
                "fetched": fetched.get(key, 0),
                "health": "failing" if failing else ("ok" if state.last_success_at else "never"),
            }
        )
    sets.extend(_never_synced(company, seen, limit - len(sets)))
    by_status: dict[str, int] = defaultdict(int)
    for per_set in counts.values():
        for status, n in per_set.items():
            by_status[status] += n
    return {
        "hours": hours,
        "sets": sets,
        "runs_by_status": dict(by_status),
        "failing": sum(1 for s in sets if s["health"] == "failing"),
    }


def _run_label(run: SyncRun) -> str:
    """``"Full sync succeeded"``, ``"Reconcile failed"``: the run in words, never codes."""
    kind = SyncRun.Kind(run.kind).label + ("" if run.kind == SyncRun.Kind.RECONCILE else " sync")
    return f"{kind} {SyncRun.Status(run.status).label.split(' (')[0].lower()}"


def _run(run: SyncRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "kind": run.kind,
        "status": run.status,
        "label": _run_label(run),
        "started_at": run.started_at,
        "fetched": run.fetched,
        "created": run.created,
        "updated": run.updated,
        "deleted": run.deleted,
        "error": run.error,
    }


def _never_synced(company: Company | None, seen: set[tuple[Any, ...]], limit: int) -> list[dict[str, Any]]:
    """Enabled configurations of selected companies without any sync state yet."""
    if limit <= 0:
        return []
    companies = Company.objects.filter(selected=True, present=True).select_related("connection")
    if company is not None:
        companies = companies.filter(pk=company.pk)
    configs = list(SyncConfig.objects.filter(enabled=True, connection__enabled=True))
    rows: list[dict[str, Any]] = []
    for comp in companies[:50]:
        names = {c.entity_set: c for c in configs if c.connection_id == comp.connection_id and c.company_id is None}
        names.update({c.entity_set: c for c in configs if c.company_id == comp.pk})
        for name, config in sorted(names.items()):
            if (comp.connection_id, comp.pk, name) in seen or len(rows) >= limit:
                continue
            rows.append(
                {
                    "connection": comp.connection.name,
                    "company": comp.display_name or comp.name,
                    "api": config.api,
                    "entity_set": name,
                    "watermark": None,
                    "watermark_age": None,
                    "last_success_at": None,
                    "last_error": "",
                    "locked": False,
                    "last_run": None,
                    "runs": {},
                    "fetched": 0,
                    "health": "never",
                }
            )
    return rows


def webhook_health(
    company: Company | None = None, *, hours: int = 24, limit: int = 100, now: datetime | None = None
) -> dict[str, Any]:
    """Subscriptions with their expiry, and the deliveries of the last ``hours``.

    BC subscriptions expire after three days unless renewed (docs/bc/6-webhooks.md §6.2), so each one
    carries ``expires_in`` (seconds, negative once expired). Deliveries are counted by
    status and by hour inside the window (``received_at`` is indexed); deliveries are not
    tied to a company, so ``company`` filters only the subscriptions.

    Returns:
        ``{"subscriptions": [{"connection", "company", "api", "entity_set", "status",
        "expiration_date_time", "expires_in", "last_notification_at", "last_error"}],
        "subscriptions_by_status": {status: int}, "expiring_within_day": int,
        "deliveries": {"hours": int, "by_status": {status: int}, "labels": [ISO 8601 hour],
        "by_hour": {status: [int per hour]}}}``; subscriptions are ordered by expiry,
        soonest first.
    """
    now = now or timezone.now()
    subs = _scoped(WebhookSubscription.objects.select_related("connection", "company"), company)
    by_status = {row["status"]: row["n"] for row in subs.values("status").annotate(n=Count("id")).order_by()}
    expiring = subs.filter(status=SubscriptionStatus.ACTIVE, expiration_date_time__lte=now + timedelta(days=1)).count()
    listed = [
        {
            "connection": s.connection.name,
            "company": s.company.display_name or s.company.name,
            "api": s.api,
            "entity_set": s.entity_set,
            "status": s.status,
            "status_label": SubscriptionStatus(s.status).label.split(" (")[0],
            "expiration_date_time": s.expiration_date_time,
            "expires_in": (s.expiration_date_time - now).total_seconds() if s.expiration_date_time else None,
            "last_notification_at": s.last_notification_at,
            "last_error": s.last_error,
        }
        for s in subs.order_by("expiration_date_time", "entity_set")[:limit]
    ]
    first_hour = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    hours_list = [first_hour + timedelta(hours=n) for n in range(hours)]
    slot = {h: n for n, h in enumerate(hours_list)}
    per_hour: dict[str, list[int]] = {}
    delivered: dict[str, int] = defaultdict(int)
    rows = (
        WebhookDelivery.objects.filter(received_at__gte=first_hour)
        .annotate(hour=TruncHour("received_at", tzinfo=UTC))
        .values("hour", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        delivered[row["status"]] += row["n"]
        n = slot.get(row["hour"])
        if n is not None:
            per_hour.setdefault(row["status"], [0] * hours)[n] += row["n"]
    return {
        "subscriptions": listed,
        "subscriptions_by_status": by_status,
        "expiring_within_day": expiring,
        "deliveries": {
            "hours": hours,
            "by_status": {s: delivered[s] for s in DeliveryStatus.values if delivered.get(s)},
            "labels": [h.isoformat() for h in hours_list],
            "by_hour": per_hour,
        },
    }
