"""The fault suite's process probes: real ``bcbridge`` subprocesses, SIGKILL, several
workers on one database, and a secrets scan of a full demo run.

Run by ``make soak`` (``python -m tests.soak.processes --database sqlite|postgres``) after
the in-process probes, and in a fast form by ``tests/soak/test_soak_processes.py``. Every
process is bounded in time, talks to a local emulator on a loopback port, and is stopped
(killed if need be) before the probe returns. One figure per line is printed; the exit
status is non-zero when a figure misses its goal.

Probes:

* **kill**: ``bcbridge sync --full`` SIGKILLed at random points (>= 5); each time the next
  ``bcbridge sync`` must take the set over at once (a dead holder on this host, no waiting
  for the lease) and succeed; at the end no run is left ``running`` and reconcile finds no
  difference.
* **workers**: 3 runners (``bcbridge run --job sync``) and 3 pushers (``bcbridge push``) on
  one database while a BC user changes data: every ``externalDocumentNumber`` once in BC,
  no duplicate mirror row, and the sending spread over the pushers.
* **secrets**: a full ``bcbridge demo --once``; the database file (and a ``pg_dump`` on
  PostgreSQL) and the logs must not contain the client secret, any access or refresh
  token, or a ``clientState``; the logs must not contain the receiver token either (the
  database keeps it: the receiver looks requests up by it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SETS = ["customers", "items", "salesInvoices"]
PG_ADMIN = os.environ.get("BCBRIDGE_SOAK_PG", "postgres://postgres@127.0.0.1:5432/postgres")


@dataclass
class Figure:
    probe: str
    name: str
    value: Any
    goal: Any
    ok: bool


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)

    def add(self, probe: str, name: str, value: Any, goal: Any, ok: bool | None = None) -> None:
        figure = Figure(probe, name, value, goal, value == goal if ok is None else ok)
        self.figures.append(figure)
        print(f"{'ok ' if figure.ok else 'MISS'} {probe:<10} {name:<48} {value!s:>8}  goal {goal}", flush=True)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.figures)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Site:
    """A BCBRIDGE_HOME with its own database, an emulator subprocess and a connection."""

    def __init__(self, name: str, database: str, *, scale: float = 0.2, page_size: int = 25) -> None:
        self.home = ROOT / "var" / f"soak-{name}-{database}"
        self.database = database
        self.scale = scale
        self.port = free_port()
        self.processes: list[subprocess.Popen[bytes]] = []
        self.log = self.home / "processes.log"
        db_url = ""
        if database == "postgres":
            # one database per probe and checkout, so parallel suites elsewhere never clash
            checkout = hashlib.sha1(str(ROOT).encode()).hexdigest()[:8]
            db_url = _fresh_pg_database(f"soak_{name}_{checkout}")
        self.env = {
            **os.environ,
            "BCBRIDGE_HOME": str(self.home),
            "DATABASE_URL": db_url,
            "DJANGO_SETTINGS_MODULE": "tests.soak.soak_settings",
            "BCBRIDGE_SOAK_PAGE_SIZE": str(page_size),
            "PYTHONPATH": str(ROOT),
        }

    # -- processes --------------------------------------------------------------------
    def command(self, *args: str) -> list[str]:
        return [str(BIN / "bcbridge"), *args]

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        out = self.log.open("ab")
        process = subprocess.Popen(self.command(*args), env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.processes.append(process)
        return process

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.command(*args), env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
        with self.log.open("a") as log:
            log.write(f"$ bcbridge {' '.join(args)} -> {done.returncode}\n{done.stdout}{done.stderr}\n")
        return done

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        self.processes.clear()

    # -- setup --------------------------------------------------------------------------
    def start(self) -> Site:
        import shutil

        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir(parents=True)
        from bcbridge.emulator import EmulatorConfig

        config = EmulatorConfig()
        self.config = config
        self.spawn("emulator", "--port", str(self.port), "--scale", str(self.scale), "--seed", "16")
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:  # wait for the emulator to listen (bounded)
            try:
                httpx.get(f"{self.base}/_emulator/clock", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the emulator did not start within 60 s") from None
                time.sleep(0.2)
        assert self.run("migrate", "--noinput", "-v", "0").returncode == 0
        company = self.companies()[0]
        self.company_id = company["id"]
        connect = self.run(
            "connect",
            "soak",
            "--api-url",
            self.base,
            "--authority",
            self.base,
            "--tenant",
            config.tenant,
            "--client-id",
            config.client_id,
            "--client-secret",
            config.client_secret,
            "--company",
            company["id"],
        )
        assert connect.returncode == 0, connect.stdout + connect.stderr
        return self

    def companies(self) -> list[dict[str, Any]]:
        token = httpx.post(
            f"{self.base}/{self.config.tenant}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret,
                "scope": "https://api.businesscentral.dynamics.com/.default",
            },
        ).json()["access_token"]
        url = f"{self.base}/v2.0/{self.config.tenant}/{self.config.environment}/api/v2.0/companies"
        self.token = token
        return httpx.get(url, headers={"Authorization": f"Bearer {token}"}).json()["value"]

    def django(self) -> None:
        """Use this site's database from this process (once per process)."""
        for key in ("BCBRIDGE_HOME", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "BCBRIDGE_SOAK_PAGE_SIZE"):
            os.environ[key] = self.env[key]
        import django

        django.setup()

    def bc_user_change(self, rng: random.Random) -> None:
        """A BC user edits a customer through the emulator's control API."""
        if not getattr(self, "customer_keys", None):
            url = (
                f"{self.base}/v2.0/{self.config.tenant}/{self.config.environment}/api/v2.0/"
                f"companies({self.company_id})/customers?$select=id"
            )
            answer = httpx.get(url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
            self.customer_keys = [r["id"] for r in answer.json()["value"]]
        key = rng.choice(self.customer_keys)
        path = f"/_emulator/companies/{self.company_id}/customers/{key}"
        self.control("PATCH", path, {"city": f"City {rng.randint(1, 10**6)}"})

    def control(self, method: str, path: str, body: Any = None) -> Any:
        answer = httpx.request(method, self.base + path, json=body, timeout=30)
        return answer.json() if answer.content else None


def _fresh_pg_database(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


# -- probes ----------------------------------------------------------------------------


def probe_kill(report: Report, database: str, kills: int, seed: int = 5) -> None:
    """SIGKILL ``bcbridge sync --full`` at random points; the next run takes over at once."""
    site = Site("kill", database, scale=0.3, page_size=10).start()
    rng = random.Random(seed)
    try:
        site.django()
        from bcbridge.models import SyncRun

        # slow pages (0.1 s each) so a run lasts seconds and is killed in the middle
        slow = {"fault": "slow", "delay": 0.1, "method": "GET", "path": r"/companies\([^)]*\)/"}
        site.control("PUT", "/_emulator/faults", {"rules": [slow]})
        killed = skipped = failed_resumes = 0
        waits: list[float] = []
        for _ in range(kills):
            before = SyncRun.objects.count()
            process = site.spawn("sync", "--full", *SETS)
            deadline = time.monotonic() + 60
            while (  # wait (bounded) until the run has begun, then pick a random point
                process.poll() is None
                and time.monotonic() < deadline
                and not SyncRun.objects.filter(pk__gt=before, pages__gt=0).exists()
            ):
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 2.5))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                killed += 1
            process.wait(30)
            site.bc_user_change(rng)
            started = time.monotonic()
            resume = site.run("sync", *SETS)
            waits.append(time.monotonic() - started)
            skipped += "skipped" in resume.stdout + resume.stderr
            failed_resumes += resume.returncode != 0
        site.control("DELETE", "/_emulator/faults")
        final = site.run("sync", "--full", *SETS)
        from bcbridge.models import Connection
        from bcbridge.sync.reconcile import reconcile

        outcome = reconcile(Connection.objects.get(name="soak"), SETS, fix=False)
        differences = sum(r.missing + r.extra + r.stale for r in outcome.runs)
        lease = __import__("bcbridge.conf", fromlist=["get_settings"]).get_settings().SYNC_LOCK_LEASE
        report.add("kill", "sync --full runs SIGKILLed mid-run", killed, ">= 5", killed >= 5)
        report.add("kill", "next runs that skipped a set", skipped, 0)
        report.add("kill", "next runs that failed", failed_resumes, 0)
        report.add(
            "kill", "longest next run, s (lease heartbeat)", round(max(waits), 1), f"< {lease:.0f}", max(waits) < lease
        )
        report.add("kill", "final full sync exit status", final.returncode, 0)
        report.add("kill", "orphan 'running' runs", SyncRun.objects.filter(status="running").count(), 0)
        report.add("kill", "killed runs marked abandoned", SyncRun.objects.filter(status="abandoned").count(), killed)
        report.add("kill", "reconcile differences", differences, 0)
    finally:
        site.stop()


_ROW = re.compile(r"[│|]\s*(\d+)\s*[│|]\s*(\d+)\s*[│|]")


def probe_workers(report: Report, database: str, orders: int, seconds: float) -> None:
    """3 runners and 3 pushers on one database while a BC user changes data."""
    site = Site("workers", database, scale=0.2, page_size=20).start()
    rng = random.Random(7)
    try:
        site.django()
        from django.db.models import Count

        from bcbridge.models import Connection, Customer, OutboxMessage
        from bcbridge.push import sales_order

        connection = Connection.objects.get(name="soak")
        assert site.run("sync", "--full", "customers", "items").returncode == 0
        customer = Customer.objects.filter(connection=connection).first()
        item_number = (
            __import__("bcbridge.models", fromlist=["Item"])
            .Item.objects.filter(connection=connection, type="Inventory")
            .values_list("number", flat=True)
            .first()
        )
        for i in range(orders):
            sales_order(
                connection,
                site.company_id,
                customer=customer.number,
                external_document_number=f"MP-{i}",
                lines=[{"item": item_number, "quantity": 1}],
            )
        # slow POSTs so the pushers overlap (and some answers lost after BC processed them)
        site.control(
            "PUT",
            "/_emulator/faults",
            {
                "seed": 3,
                "rules": [
                    {"fault": "slow", "delay": 0.05, "method": "POST", "path": "/salesOrders$"},
                    {"fault": "reset", "probability": 0.05, "method": "POST", "path": "/salesOrders$", "after": True},
                ],
            },
        )
        deliveries = _queue_deliveries(site, connection, rng, orders)
        jobs = ("--job", "sync", "--job", "webhook-deliveries", "--tick", "0.5")
        runners = [site.spawn("run", *jobs) for _ in range(3)]
        pushers = [
            subprocess.Popen(
                site.command("push", "--limit", str(orders)),
                env=site.env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(3)
        ]
        site.processes.extend(pushers)  # type: ignore[arg-type]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and any(p.poll() is None for p in pushers):
            site.bc_user_change(rng)
            time.sleep(0.2)
        sent_by: list[int] = []
        for pusher in pushers:
            out, _ = pusher.communicate(timeout=max(deadline - time.monotonic(), 1) + 60)
            match = _ROW.search(out or "")
            sent_by.append(int(match.group(2)) if match else 0)
        site.control("DELETE", "/_emulator/faults")
        for _ in range(3):  # messages retried later (lost answers): drain them
            if not OutboxMessage.objects.exclude(status="sent").exists():
                break
            site.run("push")
            time.sleep(1)
        from bcbridge.models import WebhookDelivery

        queue = WebhookDelivery.objects.filter(pk__in=deliveries)
        deadline = time.monotonic() + 120
        while queue.filter(status="received").exists() and time.monotonic() < deadline:
            time.sleep(0.5)  # the runners drain the queue (bounded)
        for runner in runners:
            runner.terminate()
        processed = queue.filter(status="processed")
        url = (
            f"{site.base}/v2.0/{site.config.tenant}/{site.config.environment}/api/v2.0/"
            f"companies({site.company_id})/salesOrders?$select=externalDocumentNumber"
        )
        answer = httpx.get(url, headers={"Authorization": f"Bearer {site.token}"}, timeout=60).json()
        in_bc = Counter(r["externalDocumentNumber"] for r in answer["value"])
        numbers = [f"MP-{i}" for i in range(orders)]
        duplicates_mirror = (
            Customer.all_objects.values("company", "bc_id").annotate(n=Count("id")).filter(n__gt=1).count()
        )
        report.add("workers", "orders", orders, orders)
        report.add("workers", "orders created twice or more in BC", sum(in_bc[n] > 1 for n in numbers), 0)
        report.add("workers", "orders never created", sum(in_bc[n] == 0 for n in numbers), 0)
        report.add("workers", "duplicate mirror rows", duplicates_mirror, 0)
        report.add("workers", "webhook deliveries processed", processed.count(), len(deliveries))
        report.add("workers", "deliveries processed more than once", processed.exclude(attempts=1).count(), 0)
        report.add(
            "workers",
            "pushers that sent messages (of 3)",
            sum(n > 0 for n in sent_by),
            ">= 2",
            sum(n > 0 for n in sent_by) >= 2,
        )
        report.add(
            "workers",
            "largest share of one pusher, %",
            round(100 * max(sent_by) / max(sum(sent_by), 1)),
            "< 100",
            max(sent_by) < max(sum(sent_by), 1),
        )
    finally:
        site.stop()


def _queue_deliveries(site: Site, connection: Any, rng: random.Random, count: int) -> list[int]:
    """``count`` received deliveries (as the receiver stores them) for customers BC has."""
    from django.utils import timezone

    from bcbridge.models import Company, WebhookDelivery, WebhookSubscription

    company = Company.objects.get(connection=connection, bc_id=site.company_id)
    sub = WebhookSubscription.objects.create(
        connection=connection,
        company=company,
        entity_set="customers",
        subscription_id="soak-subscription",
        resource=f"/api/v2.0/companies({site.company_id})/customers",
        notification_url="http://127.0.0.1/x/",
        client_state="soak",
        status="active",
    )
    site.bc_user_change(rng)  # loads the customer keys
    ids = []
    for _ in range(count):
        key = rng.choice(site.customer_keys)
        note = {
            "subscriptionId": sub.subscription_id,
            "resource": f"api/v2.0/companies({site.company_id})/customers({key})",
            "changeType": "updated",
            "lastModifiedDateTime": timezone.now().isoformat(),
        }
        delivery = WebhookDelivery.objects.create(
            connection=connection,
            method="POST",
            path="/bcbridge/webhooks/soak.../",
            body=json.dumps({"value": [note]}),
            notifications=1,
        )
        ids.append(delivery.pk)
    return ids


def probe_secrets(report: Report, database: str) -> None:
    """A full demo run, then a scan of its database and logs for secrets."""
    site = Site("demo", database)
    import shutil

    shutil.rmtree(site.home, ignore_errors=True)
    site.home.mkdir(parents=True)
    env = {**site.env, "DJANGO_SETTINGS_MODULE": "bcbridge.site.settings"}
    demo = subprocess.run(
        site.command("demo", "--once", "--port", "0", "--emulator-port", "0", "--scale", "0.3"),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    logs = demo.stdout + demo.stderr
    site.env = env
    site.django()
    from bcbridge.emulator import EmulatorConfig
    from bcbridge.models import Connection, WebhookReceiver, WebhookSubscription

    states = [s.client_state for s in WebhookSubscription.objects.all() if s.client_state]
    receivers = list(WebhookReceiver.objects.values_list("token", flat=True))
    secrets = {"client secret": [EmulatorConfig().client_secret], "clientState": states}
    secrets["client secret"] += [c.client_secret for c in Connection.objects.all() if c.client_secret]
    jwt = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")
    stores: dict[str, bytes] = {"logs": logs.encode()}
    if database == "postgres":
        dump = subprocess.run(["pg_dump", site.env["DATABASE_URL"]], capture_output=True, timeout=120)
        stores["pg_dump"] = dump.stdout
    else:
        stores["database files"] = b"".join(p.read_bytes() for p in site.home.glob("bcbridge.sqlite3*"))
    report.add("secrets", "demo exit status", demo.returncode, 0)
    report.add("secrets", "clientStates checked", len(states), "> 0", len(states) > 0)
    for where, data in stores.items():
        found = sum(data.count(value.encode()) for values in secrets.values() for value in values)
        found += len(jwt.findall(data))
        if where == "logs":
            found += sum(data.count(token.encode()) for token in receivers)
        report.add("secrets", f"secrets in {where}", found, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--fast", action="store_true", help="Small sizes (seconds, for make test).")
    parser.add_argument("--probe", action="append", choices=list(PROBES))
    options = parser.parse_args(argv)
    probes = options.probe or list(PROBES)
    if len(probes) > 1:  # one process per probe: each uses its own database through Django
        failed = 0
        for probe in probes:
            args = ["--database", options.database, "--probe", probe] + (["--fast"] if options.fast else [])
            failed += subprocess.run([sys.executable, "-m", "tests.soak.processes", *args], cwd=ROOT).returncode != 0
        return 1 if failed else 0
    report = Report()
    PROBES[probes[0]](report, options.database, options.fast)
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / f"soak-{probes[0]}-{options.database}.json").write_text(
        json.dumps([f.__dict__ for f in report.figures], indent=2, default=str)
    )
    return 0 if report.ok else 1


PROBES = {
    "kill": lambda report, database, fast: probe_kill(report, database, kills=5 if fast else 8),
    "workers": lambda report, database, fast: probe_workers(
        report, database, orders=30 if fast else 150, seconds=60 if fast else 180
    ),
    "secrets": lambda report, database, fast: probe_secrets(report, database),
}


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        sys.exit(main())
