"""The main job, end to end (``bcbridge demo``): every capability of bcbridge in one run.

Steps: the emulator (BC + Entra ID) and the site start on loopback ports; the ``demo``
connection is created with client credentials and its companies loaded; the standard
endpoints (``GET_SALES_ORDER_NOS``, ``GET_WHSE_SHPT_LINES`` and the warehouse API) are
created and one is called; the default entity sets are fully synced; webhooks are subscribed;
BC activity (new items, price
changes, sales invoices and a shipment with lines, deletions) flows in through
notifications; sales orders from a sample web-shop feed go out through the outbox; the
mirror is reconciled against BC and every pushed order is checked to exist exactly once.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from bcbridge.demo.activity import Activity, simulate
from bcbridge.demo.site_server import SiteServer
from bcbridge.emulator import Emulator, EmulatorConfig
from bcbridge.emulator.server import EmulatorServer
from bcbridge.entities import BC
from bcbridge.exceptions import BCBridgeError
from bcbridge.models import Company, Connection, DeliveryStatus, GrantType, WebhookDelivery
from bcbridge.odata import F
from bcbridge.push import drain, sales_order_from_dict
from bcbridge.push.warehouse import install_warehouse_endpoints, shipment_list
from bcbridge.sync.companies import load_companies
from bcbridge.sync.engine import ensure_default_configs, sync
from bcbridge.sync.notifications import DeliveryWorker
from bcbridge.sync.reconcile import reconcile
from bcbridge.sync.registry import mirror_for
from bcbridge.sync.webhooks import enable, maintain

__all__ = ["DEMO_PASSWORD", "DEMO_USER", "MainJob", "Step"]


def _label(mirror: Any) -> str:
    """``item variants`` for a typed mirror, the entity set's name for a generic one."""
    return mirror.entity_set if mirror.generic else str(mirror.model._meta.verbose_name_plural)


def _n(count: int, one: str, many: str | None = None) -> str:
    """``1 webhook delivery``, ``2 webhook deliveries``."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


DEMO_USER, DEMO_PASSWORD = "admin", "admin"
DEMO_COMPANY = "CRONUS US"
#: Entity sets whose changes come in by webhook in the demo (all webhook-capable, docs/bc/6-webhooks.md §6.3).
WEBHOOK_SETS = ["items", "customers", "salesInvoices", "salesOrders"]
FEED = Path(__file__).with_name("webshop_orders.json")


@dataclass
class Step:
    name: str
    ok: bool
    detail: str


@dataclass
class MainJob:
    """Runs the demo's steps and records each one's outcome.

    Args:
        host: Interface for the emulator and the site.
        site_port / emulator_port: Ports (0 picks free ones).
        scale: Emulator data volume (1 = about 500 items per company).
        notification_delay: The emulator's webhook window in seconds (BC: 30).
    """

    host: str = "127.0.0.1"
    site_port: int = 8000
    emulator_port: int = 8765
    scale: float = 1.0
    notification_delay: float = 30.0
    steps: list[Step] = field(default_factory=list)
    emulator: Emulator | None = None
    emulator_server: EmulatorServer | None = None
    site: SiteServer | None = None
    worker: DeliveryWorker | None = None
    connection: Connection | None = None
    company: Company | None = None
    pushed: list[str] = field(default_factory=list)
    activity_deliveries: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    def step(self, name: str, ok: bool, detail: str) -> bool:
        self.steps.append(Step(name, ok, detail))
        return ok

    # -- the steps ------------------------------------------------------------------------

    def start(self) -> None:
        """Database, admin user, emulator, site, webhook delivery worker."""
        call_command("migrate", interactive=False, verbosity=0)
        users = get_user_model()
        if not users.objects.filter(username=DEMO_USER).exists():
            users.objects.create_superuser(DEMO_USER, "admin@example.com", DEMO_PASSWORD)
        config = EmulatorConfig(scale=self.scale, notification_delay=self.notification_delay)
        self.emulator = Emulator(config)
        self.emulator_server = EmulatorServer(self.emulator, host=self.host, port=self.emulator_port).start()
        self.site = SiteServer(self.host, self.site_port).start()
        self.worker = DeliveryWorker(interval=0.5).start()
        self.step("start", True, f"emulator {self.emulator_server.url}, site {self.site.url}")

    def connect(self) -> bool:
        assert self.emulator is not None and self.emulator_server is not None
        config, url = self.emulator.config, self.emulator_server.url
        # Each run starts a fresh emulator, so what an earlier run mirrored, queued or
        # subscribed belongs to a BC that no longer exists: start the demo connections afresh.
        Connection.objects.filter(name__in=["demo", "demo-user"]).delete()
        common = {
            "api_url": url,
            "authority_url": url,
            "tenant": config.tenant,
            "environment": config.environment,
            "client_id": config.client_id,
            "client_secret": config.client_secret,
        }
        Connection.objects.update_or_create(
            name="demo-user", defaults={**common, "grant_type": GrantType.AUTHORIZATION_CODE}
        )
        self.connection, _ = Connection.objects.update_or_create(
            name="demo", defaults={**common, "grant_type": GrantType.CLIENT_CREDENTIALS}
        )
        try:
            with BC(self.connection) as bc:
                bc.tokens.acquire()
                companies = load_companies(self.connection, bc, select=[DEMO_COMPANY])
        except BCBridgeError as exc:
            return self.step("connect (client credentials)", False, str(exc))
        self.company = next(c for c in companies if c.selected)
        return self.step(
            "connect (client credentials)",
            True,
            f"token acquired; {len(companies)} companies, {self.company.name} selected",
        )

    def endpoints(self) -> bool:
        """The endpoint rows of the source documents, and one call through them."""
        assert self.connection is not None and self.company is not None
        rows = install_warehouse_endpoints(self.connection)
        try:
            with BC(self.connection) as bc:
                shipments = shipment_list(bc, str(self.company.bc_id))
        except BCBridgeError as exc:
            return self.step("endpoints", False, f"{len(rows)} endpoints created; GET_WHSE_SHPT_LINES failed: {exc}")
        return self.step(
            "endpoints",
            True,
            f"{len(rows)} endpoints created (admin: API endpoints); GET_WHSE_SHPT_LINES answered "
            f"{_n(len(shipments), 'open warehouse shipment')} with their lines",
        )

    def full_sync(self) -> bool:
        assert self.connection is not None and self.company is not None
        ensure_default_configs(self.connection)
        report = sync(self.connection, full=True)
        counts = "; ".join(f"{label} {count:,}" for label, count in self.mirrored() if count)
        return self.step("full sync", report.ok, counts or "; ".join(report.notes))

    def mirrored(self) -> list[tuple[str, int]]:
        """Records in the mirror of the demo company, per entity set, children separately
        (``items`` 1,003 and ``item variants`` 516, not ``items`` 1,519)."""
        from bcbridge.models import SyncRun

        assert self.company is not None
        rows: list[tuple[str, int]] = []
        for entity_set in sorted(set(SyncRun.objects.values_list("entity_set", flat=True))):
            mirror = mirror_for(entity_set)
            rows.append((_label(mirror), mirror.model.objects.filter(**mirror.scope(self.company)).count()))
            for navigation in mirror.default_children:
                child = mirror_for(mirror.children.get(navigation, navigation))
                rows.append((_label(child), child.model.objects.filter(**child.scope(self.company)).count()))
        return rows

    def subscribe(self) -> bool:
        assert self.connection is not None and self.site is not None
        enable(self.connection, WEBHOOK_SETS)
        report = maintain(self.connection, notification_url_base=self.site.url)
        detail = f"{report.count('created')} subscriptions created ({', '.join(WEBHOOK_SETS)})"
        return self.step(
            "webhooks subscribed", report.ok, detail + ("; " + "; ".join(report.notes) if report.notes else "")
        )

    def bc_activity(self) -> Activity:
        assert self.emulator is not None and self.company is not None
        before = WebhookDelivery.objects.count()
        activity = simulate(self.emulator, str(self.company.bc_id))
        self.emulator.control.flush_notifications()  # BC sends after its window; the demo does not wait 30 s
        processed = self._wait_for_deliveries(before)
        arrived = WebhookDelivery.objects.count() - before
        self.activity_deliveries = arrived
        self.step(
            "BC activity via webhooks",
            processed,
            f"{activity}; {_n(arrived, 'webhook delivery', 'webhook deliveries')} received and processed "
            "(BC batches the notifications of its 30 s window into one delivery)",
        )
        return activity

    def push_orders(self) -> bool:
        assert self.connection is not None and self.company is not None
        feed: list[dict[str, Any]] = json.loads(FEED.read_text())
        for order in feed:
            data = dict(order)
            create = data.pop("create_customer", None)
            with transaction.atomic():
                sales_order_from_dict(self.connection, self.company, data, create_customer=create)
            self.pushed.append(order["external_document_number"])
        result = drain(connection=self.connection)
        detail = (
            f"{_n(len(feed), 'web-shop order')} queued; outbox messages: {result.sent} sent, "
            f"{result.parked} parked, {result.retried} to retry"
        )
        return self.step(
            "sales orders pushed through the outbox", result.sent == len(feed) and not result.parked, detail
        )

    def verify(self) -> bool:
        """Reconcile every synced set and check each pushed order exists exactly once in BC."""
        assert self.connection is not None and self.company is not None and self.emulator is not None
        self.emulator.control.flush_notifications()
        self._wait_for_deliveries(None)
        sync(self.connection)  # incremental: the safety net behind the webhooks
        report = reconcile(self.connection, fix=False)
        differences = [
            f"{r.entity_set}: {r.missing} missing, {r.extra} extra, {r.stale} stale"
            for r in report.runs
            if r.missing or r.extra or r.stale
        ]
        clean = report.ok and not differences
        self.step("reconcile", clean, "mirror equals BC" if clean else "; ".join(differences) or "failed")
        with BC(self.connection) as bc:
            orders = bc.company(str(self.company.bc_id)).salesOrders
            counts = {
                number: len(list(orders.list(filter=F("externalDocumentNumber") == number, select=["id"])))
                for number in self.pushed
            }
        once = all(n == 1 for n in counts.values())
        return self.step("each pushed order once in BC", once, ", ".join(f"{k}: {v}" for k, v in counts.items()))

    def _wait_for_deliveries(self, before: int | None, timeout: float = 60.0) -> bool:
        """Until every stored delivery is processed (and some arrived after ``before``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            arrived = before is None or WebhookDelivery.objects.count() > before
            pending = WebhookDelivery.objects.filter(status=DeliveryStatus.RECEIVED).exists()
            if arrived and not pending:
                return True
            time.sleep(0.2)
        return False

    def run(self) -> bool:
        """Every step in order; a failed step stops the ones that depend on it."""
        self.start()
        if self.connect() and self.endpoints() and self.full_sync() and self.subscribe():
            self.bc_activity()
            self.push_orders()
            self.verify()
        return self.ok

    def stop(self) -> None:
        for part in (self.worker, self.site, self.emulator_server):
            if part is not None:
                part.stop()

    def summary(self) -> list[tuple[str, int]]:
        """Mirrored records per entity set (children on their own rows), and the webhook and
        outbox totals, each labelled with what it counts."""
        from django.db.models import Count

        from bcbridge.models import OutboxMessage

        rows = [(f"records in the mirror: {label}", count) for label, count in self.mirrored()]
        deliveries = dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("id")))
        total = sum(deliveries.values())
        rows.append(("webhook deliveries during the BC activity step", self.activity_deliveries))
        rows.append(("webhook deliveries after it (pushed orders, final check)", total - self.activity_deliveries))
        rows.append(("webhook deliveries processed (all)", deliveries.get("processed", 0)))
        sent = OutboxMessage.objects.filter(connection=self.connection, status="sent")
        rows.append(("sales orders pushed to BC", sent.filter(operation="sales_order").count()))
        rows.append(("other outbox messages sent", sent.exclude(operation="sales_order").count()))
        return rows
