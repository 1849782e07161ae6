"""Sync configuration, per-set state (watermark and lock), runs, and the runner's jobs.

All schedules and state live here, in the database, so the embedded runner
(``bcbridge run``) and Celery workers can run the same plain functions of
:mod:`bcbridge.sync` and agree through row updates.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone

from bcbridge.models.connection import Company, Connection

__all__ = ["RunnerJob", "SyncConfig", "SyncMode", "SyncRun", "SyncState"]


class SyncMode(models.TextChoices):
    POLL = "poll", "Poll (incremental pull on a schedule)"
    WEBHOOK = "webhook", "Webhook (BC notifies; pull what changed)"
    BOTH = "both", "Both (webhooks, and polls as a safety net)"


class SyncConfig(models.Model):
    """What to mirror: one entity set of a connection, for one company or for all selected ones.

    A row with ``company`` empty applies to every selected company of the connection; a row
    for a specific company overrides it. ``api`` is blank for API v2.0 sets,
    ``publisher/group/version`` for a custom API and ``ODataV4`` for a web service (a page
    or query published in BC, keyed by its ``$metadata`` key and fully listed each time).
    ``children`` lists the contained sets brought with ``$expand`` (docs/bc/3-odata-queries.md §3), e.g.
    ``salesInvoiceLines``; ``filter`` is an extra ``$filter`` and-ed to the sync's own.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="sync_configs")
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sync_configs",
        help_text="Empty: every selected company of the connection.",
    )
    entity_set = models.CharField(max_length=128, help_text="e.g. items, salesInvoices, carBrands.")
    api = models.CharField(
        "API route",
        max_length=200,
        blank=True,
        help_text="Blank for API v2.0; publisher/group/version for a custom API; ODataV4 for a web service.",
    )
    enabled = models.BooleanField(default=True)
    mode = models.CharField(max_length=16, choices=SyncMode.choices, default=SyncMode.POLL)
    poll_interval = models.PositiveIntegerField(
        "poll interval (seconds)", default=300, help_text="Seconds between incremental pulls."
    )
    filter = models.CharField(
        "$filter", max_length=1000, blank=True, help_text="Extra OData $filter, and-ed to the sync's."
    )
    children = models.CharField(
        max_length=500,
        blank=True,
        help_text="Contained sets brought with $expand, comma-separated (e.g. salesInvoiceLines).",
    )
    page_size = models.PositiveIntegerField(
        null=True, blank=True, help_text="Records per page (BC max 20,000); empty: the default."
    )

    class Meta:
        ordering = ["connection", "entity_set", "company"]
        verbose_name = "sync configuration"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "company", "api", "entity_set"], name="bcbridge_syncconfig_unique"
            ),
            models.UniqueConstraint(
                fields=["connection", "api", "entity_set"],
                condition=models.Q(company__isnull=True),
                name="bcbridge_syncconfig_unique_all_companies",
            ),
        ]

    def __str__(self) -> str:
        scope = self.company or "all selected companies"
        return f"{self.connection} {self.api + '/' if self.api else ''}{self.entity_set} ({scope})"

    @property
    def child_sets(self) -> list[str]:
        return [name.strip() for name in self.children.split(",") if name.strip()]


class SyncState(models.Model):
    """Progress of one ``(connection, company, api, entity set)``: watermark and lock.

    ``watermark`` is the greatest ``lastModifiedDateTime`` stored so far; it only moves
    forward and is written in the same transaction as each page's rows. The lock is a lease
    (``locked_by`` until ``locked_until``) taken and renewed with a single conditional
    ``UPDATE``, so it holds across processes on PostgreSQL and SQLite, and a worker that died
    loses it when the lease expires.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="sync_states")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="sync_states")
    api = models.CharField("API route", max_length=200, blank=True)
    entity_set = models.CharField(max_length=128)
    watermark = models.DateTimeField(null=True, blank=True)
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    locked_by = models.CharField(max_length=200, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["connection", "company", "entity_set"]
        verbose_name = "sync state"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "company", "api", "entity_set"], name="bcbridge_syncstate_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity_set} of {self.company}"

    @property
    def locked(self) -> bool:
        return bool(self.locked_until and self.locked_until > timezone.now())


class SyncRun(models.Model):
    """One sync or reconcile of one entity set of one company, with its counts."""

    class Kind(models.TextChoices):
        FULL = "full", "Full"
        INCREMENTAL = "incremental", "Incremental"
        RECONCILE = "reconcile", "Reconcile"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (another worker holds the set)"
        ABANDONED = "abandoned", "Abandoned (its worker died or lost the lock)"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="sync_runs")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="sync_runs")
    api = models.CharField("API route", max_length=200, blank=True)
    entity_set = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    worker = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    watermark_from = models.DateTimeField(null=True, blank=True)
    watermark_to = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    fetched = models.PositiveIntegerField(default=0, help_text="Records read from BC (children included).")
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(default=0, help_text="Reconcile: in BC, not in the mirror.")
    extra = models.PositiveIntegerField(default=0, help_text="Reconcile: in the mirror, not in BC.")
    stale = models.PositiveIntegerField(default=0, help_text="Reconcile: ETag or lastModifiedDateTime differ.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "sync run"

    def __str__(self) -> str:
        return f"{self.kind} {self.entity_set} of {self.company} at {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def duration(self) -> timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None

    @property
    def differences(self) -> int:
        return self.missing + self.extra + self.stale


class RunnerJob(models.Model):
    """State of one periodic job of the embedded runner (:mod:`bcbridge.runner`)."""

    name = models.CharField(max_length=100, unique=True)
    interval = models.FloatField(help_text="Seconds between runs.")
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(default=timezone.now)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    runs = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    locked_by = models.CharField(max_length=200, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "runner job"

    def __str__(self) -> str:
        return self.name
